"""The webhook inbox: form events as received, stored once each, read back by the ``inbox`` source.

``custhub serve`` verifies a delivery and writes its events here (``record_events``) before it
answers 2xx; the ``inbox`` source (``connectors.inbox``) reads them back in id order
(``read_events``) so that ``custhub run`` maps, cleans and stores them like any other stream.
"""

from hub.inbox.events import InboxEvent, read_events, record_events, stream_name, streams_in_inbox
from hub.inbox.tables import webhook_inbox

__all__ = ["InboxEvent", "read_events", "record_events", "stream_name", "streams_in_inbox", "webhook_inbox"]
