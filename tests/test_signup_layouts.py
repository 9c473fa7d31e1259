"""Ready mappings for the common layouts of offline sign-up sheets (Chinese headers)."""

from __future__ import annotations

import pytest

from hub import paths
from hub.canonical import schema_errors
from hub.cleaning import Cleaner
from hub.mapping import load_mapping

PROVENANCE = {"connection": "seminar", "stream": "signups", "source_pk": "1", "read_at": "2026-03-18T10:00:00+00:00"}


def canonical(mapping: str, row: dict) -> dict:
    record = load_mapping(paths.bundled_dir("mappings") / f"{mapping}.yaml").apply(row)
    record.update(schema_version="1.0", provenance=PROVENANCE)
    cleaned, reasons = Cleaner("CN").clean(record)
    assert reasons == [] and schema_errors(cleaned) == []
    return cleaned


@pytest.mark.parametrize(("checked_in", "types"), [
    ("2026/03/18 13:55", ["event_registered", "event_checked_in"]),
    ("", ["event_registered"]),
])
def test_seminar_sheet(checked_in, types):
    row = {"序号": "1", "姓名": "王芳", "性别": "女", "单位": "蓝海物流", "部门": "运营部", "职务": "运营经理",
           "手机号码": "135 0246 8135", "电子邮箱": "WangFang@BlueSea.com.cn", "所在城市": "青岛",
           "报名时间": "2026/03/10 09:30", "签到时间": checked_in}
    record = canonical("seminar_signup", row)
    person = record["person"]
    assert person["name"]["family"] == "王" and person["name"]["given"] == "芳"
    assert person["gender"] == "female" and person["department"] == "运营部"
    assert person["phones"][0]["number"] == "+8613502468135"
    assert person["emails"][0]["address"] == "wangfang@bluesea.com.cn"
    assert [i["type"] for i in record["interactions"]] == types
    assert record["interactions"][0]["at"] == "2026-03-10T09:30:00+08:00"


def test_exhibition_sheet():
    row = {"序号": "3", "姓名": "王先生", "手机": "１３６ ０１１１ ２２２２", "公司": "远航物流", "职位": "总经理",
           "城市": "广州", "省份": "广东", "签到": "是", "报名时间": "2026-03-18 10:12", "同意接收资讯": "否"}
    record = canonical("exhibition_signup", row)
    assert record["person"]["phones"][0]["number"] == "+8613601112222"
    assert record["person"]["gender"] == "male"  # from 先生, which is not part of the name
    assert [i["type"] for i in record["interactions"]] == ["event_registered", "event_checked_in"]
    assert record["consents"][0]["status"] == "denied"
