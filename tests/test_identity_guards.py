"""Guards against over-merging, on SQLite and PostgreSQL: shared keys, placeholders, per-type
limits, conflicting strong ids, cluster size; and very common names needing more evidence."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from hub.identity.features import extract
from hub.identity.linker import Linker, key_stats
from hub.identity.model import FSModel
from hub.identity.settings import IdentitySettings, KeyRule
from tests.test_identity_support import apart, profile_of, rec, resolve, seeded, together

NAMES = ["Li Na", "Wang Fang", "Chen Jie", "Zhao Lei", "Sun Li", "Zhou Min"]


def test_a_mailbox_shared_by_many_people_stops_being_a_key(store_url):
    records = [rec("web", f"t{i}", name=n, email="expo.team@corp.cn") for i, n in enumerate(NAMES)]
    records += [rec("web", "own1", name="Li Na", email="li.na@corp.cn"), rec("crm", "own2", name="Li Na",
                                                                                email="li.na@corp.cn")]
    store = seeded(store_url, records)
    summary = resolve(store)
    assert apart(store, *(f"t{i}" for i in range(len(NAMES))))
    assert together(store, "own1", "own2")
    assert summary.demoted["email"] == 1


def test_one_person_repeating_an_address_is_not_a_shared_mailbox(store_url):
    store = seeded(store_url, [rec("web", f"r{i}", name="Li Na", email="li.na@corp.cn") for i in range(8)])
    resolve(store)
    assert together(store, *(f"r{i}" for i in range(8)))


def test_a_switchboard_number_stops_being_a_key(store_url):
    store = seeded(store_url, [rec("expo", f"s{i}", name=n, phone="+8675588886666") for i, n in enumerate(NAMES)])
    summary = resolve(store)
    assert apart(store, *(f"s{i}" for i in range(len(NAMES))))
    assert summary.demoted["phone"] == 1


def test_role_mailboxes_and_placeholder_phones_are_never_keys(store_url):
    store = seeded(store_url, [rec("web", "a", name="Li Na", email="info@corp.cn", phone="+8613800000000"),
                               rec("web", "b", name="Wang Fang", email="info@corp.cn", phone="+8613800000000")])
    resolve(store)
    assert apart(store, "a", "b")


def test_a_key_held_by_too_many_records_is_demoted_even_for_one_name(store_url):
    settings = IdentitySettings(key_rules={**IdentitySettings().key_rules, "email": KeyRule(max_records=3)})
    store = seeded(store_url, [rec("web", f"r{i}", name="Li Na", email="li.na@corp.cn") for i in range(4)])
    summary = resolve(store, settings)
    assert summary.demoted["email"] == 1
    assert apart(store, "r0", "r1")


def test_two_records_with_different_names_sharing_a_rare_key_are_not_linked_by_it(store_url):
    store = seeded(store_url, [rec("web", "a", name="Li Na", email="shared@corp.cn"),
                               rec("web", "b", name="Zhao Lei", email="shared@corp.cn")])
    summary = resolve(store)
    assert apart(store, "a", "b")
    assert summary.demoted["email_name_conflict"] == 1


def test_a_profile_never_holds_two_unionids(store_url):
    store = seeded(store_url, [
        rec("wechat", "u1", name="Li Na", email="family@corp.cn", platform_ids={"wechat_unionid": "U1"}),
        rec("wechat", "u2", name="Li Na", email="family@corp.cn", platform_ids={"wechat_unionid": "U2"}),
        rec("mini", "u1b", name="Li Na", platform_ids={"wechat_unionid": "U1"})])
    summary = resolve(store)
    assert apart(store, "u1", "u2")
    assert together(store, "u1", "u1b")
    assert summary.refused["limit:wechat_unionid"] >= 1


def test_openids_are_unique_per_app_only(store_url):
    store = seeded(store_url, [
        rec("wechat", "oa", name="Li Na", platform_ids={"wechat_unionid": "U1", "wechat_openid": "oA",
                                                        "wechat_appid": "wxOfficial"}),
        rec("mini", "mp", name="Li Na", platform_ids={"wechat_unionid": "U1", "wechat_openid": "oB",
                                                      "wechat_appid": "wxMini"}),
        rec("wechat", "oa2", name="Li Na", phone="+8613912345678",
            platform_ids={"wechat_openid": "oC", "wechat_appid": "wxOfficial"}),
        rec("web", "p", name="Li Na", phone="+8613912345678", platform_ids={"wechat_unionid": "U1"})])
    resolve(store)
    assert together(store, "oa", "mp")  # two openids, two apps, one unionid
    assert apart(store, "oa", "oa2")  # a second openid in the same app is another person


def test_crm_ids_conflict_within_one_system_only(store_url):
    zoho = lambda i: [{"system": "zoho", "object": "contacts", "id": i}]  # noqa: E731
    store = seeded(store_url, [
        rec("zoho", "z1", name="Li Na", phone="+8613912345678", crm_ids=zoho("1")),
        rec("zoho", "z2", name="Li Na", phone="+8613912345678", crm_ids=zoho("2")),
        rec("hubspot", "h1", name="Li Na", phone="+8613912345678",
            crm_ids=[{"system": "hubspot", "object": "contacts", "id": "1"}])])
    resolve(store)
    assert apart(store, "z1", "z2")
    profiles = {pk for pk in ("z1", "z2") if together(store, pk, "h1")}
    assert len(profiles) == 1  # the hubspot contact joins exactly one of them


def test_a_profile_stops_growing_at_the_cluster_limit(store_url):
    settings = replace(IdentitySettings(), max_cluster_records=3)
    store = seeded(store_url, [rec("web", f"r{i}", name="Li Na", email="li.na@corp.cn") for i in range(5)])
    summary = resolve(store, settings)
    assert summary.refused["max_cluster_size"] >= 1
    sizes = sorted(Counter(profile_of(store).values()).values())
    assert sizes[-1] == 3


def _model() -> FSModel:
    # name exact +12, city exact +3, employer exact +6, birth date exact +8; prior -10 (bits)
    m = [[0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.98], [0.02, 0.02, 0.96],
         [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    u = [[0.9997, 0.0001, 0.0001, 0.97 / 4096], [0.99, 0.0097, 0.0002, 0.97 / 256], [0.98, 0.0049, 0.98 / 64],
         [0.52, 0.36, 0.12], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    average_name = [u[0][:3] + [0.005], *u[1:]]  # how often two random records share a name, on average
    return FSModel(m=m, u=u, prior=2.0**-10 / (1 + 2.0**-10), u_random=average_name)


SYLLABLES = ["ba", "ko", "mi", "tu", "re", "sa", "no", "li", "ve", "zo", "pa", "du"]
# 432 distinct other people, so that a name held by two records is rare and one held by 40 is common
OTHERS = [rec("web", f"o{a}{b}{c}", name=f"{a}{b} {c}", addresses=[{"city": "广州"}])
          for a in SYLLABLES for b in SYLLABLES[:6] for c in ("Smith", "Jones", "Brown", "Green", "White", "Black")]


def _link(records, settings=None):  # noqa: ANN001, ANN202
    settings = settings or IdentitySettings()
    records = [*records, *OTHERS]
    features = [extract(i, r, settings) for i, r in enumerate(records)]
    stats = key_stats(features)
    result = Linker(features, settings, _model(), stats, len(features)).link([], [])
    return result.roots, result


def test_a_rare_name_with_one_more_agreement_links_but_a_very_common_one_does_not():
    city = {"addresses": [{"city": "深圳"}]}
    crowd = [rec("web", f"x{i}", name="张伟", addresses=[{"city": c}]) for i, c in enumerate(["北京", "上海"] * 20)]
    records = [rec("crm", "rare1", name="欧阳娜娜", **city), rec("web", "rare2", name="Ouyang Nana", **city),
               rec("crm", "zw1", name="张伟", **city), rec("web", "zw2", name="Zhang Wei", **city), *crowd]
    roots, result = _link(records)
    assert roots[0] == roots[1]
    assert roots[2] != roots[3]


def test_a_very_common_name_links_with_enough_other_evidence():
    more = {"addresses": [{"city": "深圳"}], "employer": "华信科技有限公司", "birth_date": "1985-06-12"}
    crowd = [rec("web", f"x{i}", name="张伟", addresses=[{"city": c}]) for i, c in enumerate(["北京", "上海"] * 20)]
    roots, _ = _link([rec("crm", "zw1", name="张伟", **more), rec("web", "zw2", name="Zhang Wei", **more), *crowd])
    assert roots[0] == roots[1]


def test_the_common_name_guard_caps_pairs_with_too_few_agreements():
    settings = replace(IdentitySettings(), common_name_min_agreements=4)
    more = {"addresses": [{"city": "深圳"}], "employer": "华信科技有限公司", "birth_date": "1985-06-12"}
    crowd = [rec("web", f"x{i}", name="张伟", addresses=[{"city": c}]) for i, c in enumerate(["北京", "上海"] * 20)]
    roots, result = _link([rec("crm", "zw1", name="张伟", **more), rec("web", "zw2", name="Zhang Wei", **more),
                           *crowd], settings)
    assert roots[0] != roots[1]
    assert result.refused["common_name"] == 1
    review = [e for e in result.review if {e.a, e.b} == {0, 1}]
    assert review and np.isfinite(review[0].weight)  # not linked: offered for review instead
