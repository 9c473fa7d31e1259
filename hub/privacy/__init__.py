"""custhub's privacy layer: the foundations (issue 6). See docs/privacy.md.

Public API (import from the submodules; this package imports nothing so that ``hub.config`` can
use ``hub.privacy.settings`` without cycles):

- ``keys``: ``load_kek``, ``generate_kek``, ``init_keys``, ``rotate_data_key``, ``retire_key``,
  ``rewrap_registry``, ``Keyring``
- ``crypto``: ``FieldCipher`` (``encrypt``/``decrypt``/``reseal``), ``location_aad``, ``kid_of``
- ``rewrap``: ``RewrapTarget``, ``register_target``, ``rewrap``, ``references``
- ``blind_index``: ``BlindIndexer``, ``blind_index``, ``install``
- ``tiers``: ``tier_of``, ``field_tiers``, ``Role``, ``DEFAULT_ROLES``, ``role_named``
- ``masking``: ``mask_record``, ``mask_value``, ``unmasked_fields``
- ``logfilter``: ``PiiLogFilter``, ``install_log_filter``, ``scrub``
- ``audit``: ``record``, ``verify``, ``show``, ``export_checkpoint``, ``checkpoint_if_due``
- ``consent``: ``ConsentEvent``, ``ConsentPolicy``, ``decide``, ``record_consent``,
  ``consent_granted_now``, ``events_from_canonical``
- ``suppression``: ``suppress``, ``suppress_record``, ``is_suppressed``, ``identifiers_of``
- ``export_safety``: ``neutralise_cell``, ``write_csv``, ``write_xlsx``, ``Pseudonymiser``
- ``ropa``: ``build_ropa``, ``render_markdown``, ``render_json``
- ``runtime``: ``activate``, ``deactivate``, ``PrivacyRuntime``
- ``settings``: ``PrivacySettings``, ``parse_privacy``
- ``access``: ``Viewer``, ``cli_viewer``, ``choose_role``, ``cli_actor``
- ``views``: ``mask_golden``, ``present_golden``, ``present_raw``
- ``exports``: ``protect_row``, ``protected_rows``, ``flat_profile``
- ``fingerprint``: ``record_config_change``, ``pipia_status``, ``acknowledge_pipia``
- ``subject``: ``find_subject``, ``dsar_document``, ``Subject``
- ``erasure``: ``delete_people``
- ``retention``: ``purge``, ``PurgeResult``
"""

PUBLIC_API = {
    "keys": ("load_kek", "generate_kek", "init_keys", "rotate_data_key", "retire_key", "rewrap_registry",
             "Keyring"),
    "crypto": ("FieldCipher", "location_aad", "kid_of"),
    "rewrap": ("RewrapTarget", "register_target", "rewrap", "references"),
    "blind_index": ("BlindIndexer", "blind_index", "install"),
    "tiers": ("tier_of", "field_tiers", "Role", "DEFAULT_ROLES", "role_named"),
    "masking": ("mask_record", "mask_value", "unmasked_fields"),
    "logfilter": ("PiiLogFilter", "install_log_filter", "scrub"),
    "audit": ("record", "verify", "show", "export_checkpoint", "checkpoint_if_due"),
    "consent": ("ConsentEvent", "ConsentPolicy", "decide", "record_consent", "consent_granted_now",
                "events_from_canonical"),
    "suppression": ("suppress", "suppress_record", "is_suppressed", "identifiers_of"),
    "export_safety": ("neutralise_cell", "write_csv", "write_xlsx", "Pseudonymiser"),
    "ropa": ("build_ropa", "render_markdown", "render_json"),
    "runtime": ("activate", "deactivate", "PrivacyRuntime"),
    "settings": ("PrivacySettings", "parse_privacy"),
    "access": ("Viewer", "cli_viewer", "choose_role", "cli_actor"),
    "views": ("mask_golden", "present_golden", "present_raw"),
    "exports": ("protect_row", "protected_rows", "flat_profile"),
    "fingerprint": ("record_config_change", "pipia_status", "acknowledge_pipia"),
    "subject": ("find_subject", "dsar_document", "Subject"),
    "erasure": ("delete_people",),
    "retention": ("purge", "PurgeResult"),
}
