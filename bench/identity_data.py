"""Multi-channel customer records with known truth, for the identity benchmark and tests.

People are generated first (Han or Latin names, mobile, personal and work e-mail, employer, city,
sometimes a birth date, WeChat ids, a CRM id), then each person leaves 1-6 records on channels:
CRM export, exhibition sign-up sheet, web form, WeChat followers, Facebook lead ads. Records carry
the noise of real input: hanzi vs pinyin in either order and case, full-width digits, phones as
+86/0086/dashes/spaces, upper-case and padded e-mails, work vs private e-mail, typos, nicknames,
missing fields. And the traps: role mailboxes (info@, sales@) and a team mailbox shared by many
people, company switchboard numbers, placeholder phones (13800000000), and very popular names
(张伟, 王芳) carried by many different people. Every record goes through the real cleaner.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pypinyin import Style, lazy_pinyin

from hub.cleaning import Cleaner

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏建辉宇飞浩然思涵子轩梓萱欣怡"
               "嘉琪晨阳博文雨婷俊杰志豪佳慧梦瑶晓东海波立新国庆春燕秋菊冬梅")
POPULAR = ["张伟", "王芳", "李娜", "王伟", "李伟", "刘洋", "王静", "李静", "张敏", "王磊"]
LATIN_GIVEN = ["William", "Robert", "Elizabeth", "Katherine", "Michael", "Jennifer", "Thomas", "Daniel", "Sarah",
               "Emma", "Oliver", "Sophie", "James", "Anthony", "Margaret", "Christopher", "Laura", "Peter",
               "Andrew", "Rebecca", "Samuel", "Victoria", "Benjamin", "Alexander", "Hannah", "Lucas", "Julia"]
LATIN_FAMILY = ["Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Thomas",
                "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia", "Clark", "Lewis", "Walker", "Young",
                "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
                "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards"]
NICK = {"William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate", "Michael": "Mike",
        "Jennifer": "Jen", "Thomas": "Tom", "Daniel": "Dan", "James": "Jim", "Anthony": "Tony",
        "Margaret": "Maggie", "Christopher": "Chris", "Andrew": "Andy", "Samuel": "Sam", "Benjamin": "Ben",
        "Alexander": "Alex", "Rebecca": "Becky", "Peter": "Pete"}
CITIES = ["深圳", "广州", "上海", "北京", "杭州", "南京", "成都", "武汉", "厦门", "青岛", "苏州", "西安"]
COMPANY_WORDS = ["华信", "旭日", "远航", "莲花", "星光", "碧玉", "北风", "港湾", "珠江", "蓝海", "磐石", "飞翔",
                 "东方", "长城", "金桥", "天合", "瑞丰", "恒达", "新创", "智联", "云图", "青松", "明德", "鼎盛"]
COMPANY_KINDS = ["科技有限公司", "贸易有限公司", "物流有限公司", "设计有限公司", "传媒有限公司", "医药股份有限公司"]
FREE_MAIL = ["163.com", "qq.com", "126.com", "sina.com", "outlook.com", "gmail.com"]
MOBILE = ("130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159", "166", "177", "180",
          "181", "186", "187", "188", "189", "199")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
HOMOPHONES = {"伟": "玮", "芳": "方", "静": "婧", "敏": "闵", "丽": "莉", "杰": "洁", "明": "铭", "华": "桦"}
CHANNELS = [("crm_export", "contacts", 0.30), ("expo_2026_signups", "signups", 0.25),
            ("website_forms", "contact_form", 0.25), ("wechat_official_account", "followers", 0.12),
            ("facebook_leads", "leads", 0.08)]


@dataclass
class Company:
    name: str
    domain: str
    switchboard: str
    team_mailbox: str


@dataclass
class Person:
    pid: int
    han: tuple[str, str] | None  # (family, given)
    latin: tuple[str, str]  # (given, family) in Latin script (pinyin for Han names)
    mobile: str
    personal_email: str
    work_email: str | None
    company: Company
    city: str
    birth_date: str | None
    gender: str
    unionid: str | None
    crm_id: str
    facebook_id: str | None
    records: list[dict[str, Any]] = field(default_factory=list)


def _py(han: str) -> str:
    return "".join(lazy_pinyin(han, style=Style.NORMAL)).capitalize()


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice("aeiounrst") + word[i + 1:]


def _phone_text(rng: random.Random, number: str) -> str:
    national = number[3:] if number.startswith("+86") else number
    style = rng.randrange(6)
    if style == 0:
        return f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    if style == 1:
        return f"0086{national}"
    if style == 2:
        return f"{national[:3]}-{national[3:7]}-{national[7:]}"
    if style == 3:
        return national.translate(FULL_WIDTH)
    return national


def _email_text(rng: random.Random, email: str) -> str:
    return f"  {email.upper()} " if rng.random() < 0.15 else email


class Generator:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.companies = [self._company(i) for i in range(max(50, 400))]
        self.used_mobiles: set[str] = set()

    def _company(self, i: int) -> Company:
        rng = self.rng
        word = rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_WORDS)
        name = word + rng.choice(COMPANY_KINDS)
        domain = f"{_py(word).lower()}{i}.cn"
        switchboard = f"+86755{rng.randrange(10**7, 10**8)}"
        return Company(name, domain, switchboard, f"team{rng.randrange(100)}@{domain}")

    def _mobile(self) -> str:
        while True:
            number = f"+86{self.rng.choice(MOBILE)}{self.rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def person(self, pid: int) -> Person:
        rng = self.rng
        han = None
        if rng.random() < 0.8:
            if rng.random() < 0.06:
                full = rng.choice(POPULAR)
                han = (full[0], full[1:])
            else:
                han = (rng.choice(SURNAMES), "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2)))))
            latin = (_py(han[1]), _py(han[0]))
        else:
            latin = (rng.choice(LATIN_GIVEN), rng.choice(LATIN_FAMILY))
        company = rng.choice(self.companies)
        local = f"{latin[0]}.{latin[1]}".lower() if rng.random() < 0.5 else f"{latin[1]}{latin[0]}".lower()
        personal = f"{local}{rng.randrange(10, 9999)}@{rng.choice(FREE_MAIL)}"
        work = f"{local}@{company.domain}" if rng.random() < 0.6 else None
        dob = f"{rng.randrange(1960, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}" \
            if rng.random() < 0.35 else None
        return Person(pid=pid, han=han, latin=latin, mobile=self._mobile(), personal_email=personal,
                      work_email=work, company=company, city=rng.choice(CITIES), birth_date=dob,
                      gender=rng.choice(("male", "female")),
                      unionid=f"oU{rng.randrange(16**12):012x}" if rng.random() < 0.5 else None,
                      crm_id=f"{pid:08d}",
                      facebook_id=str(rng.randrange(10**14, 10**15)) if rng.random() < 0.4 else None)

    def _name(self, p: Person, channel: str) -> dict[str, Any]:
        rng = self.rng
        given, family = p.latin
        han_channel = channel in ("crm_export", "expo_2026_signups", "wechat_official_account")
        if p.han and han_channel and rng.random() < 0.85:
            fam, giv = p.han
            if rng.random() < 0.04:
                giv = "".join(HOMOPHONES.get(c, c) for c in giv)
            return {"full": fam + giv}
        if not p.han and given in NICK and rng.random() < 0.25:
            given = NICK[given]
        if rng.random() < 0.08:
            given, family = (_typo(rng, given), family) if rng.random() < 0.5 else (given, _typo(rng, family))
        text = rng.choice((f"{given} {family}", f"{family} {given}", f"{family.upper()} {given}",
                           f"{given.lower()} {family.lower()}"))
        return {"full": text}

    def record(self, p: Person, channel: str, stream: str, n: int) -> dict[str, Any]:
        rng = self.rng
        person: dict[str, Any] = {"name": self._name(p, channel)}
        emails, phones = [], []
        roll = rng.random()
        if roll < 0.03:
            emails.append(rng.choice(("info", "sales", "contact")) + "@" + p.company.domain)
        elif roll < 0.06:
            emails.append(p.company.team_mailbox)
        elif roll < 0.85:
            email = p.work_email if (p.work_email and channel in ("crm_export", "expo_2026_signups")
                                     and rng.random() < 0.7) else p.personal_email
            emails.append(email)
        roll = rng.random()
        if roll < 0.04:
            phones.append(p.company.switchboard)
        elif roll < 0.06:
            phones.append(rng.choice(("13800000000", "13900000000", "00000000000")))
        elif roll < (0.75 if channel != "facebook_leads" else 0.3):
            phones.append(p.mobile)
        if emails:
            person["emails"] = [{"address": _email_text(rng, e)} for e in emails]
        if phones:
            person["phones"] = [{"number": _phone_text(rng, ph), "kind": "mobile"} for ph in phones]
        if rng.random() < 0.6 or channel in ("crm_export", "expo_2026_signups"):
            person["employer"] = p.company.name
        if rng.random() < 0.6:
            person["addresses"] = [{"city": p.city, "country": "CN"}]
        if p.birth_date and rng.random() < 0.6:
            person["birth_date"] = p.birth_date
        if rng.random() < 0.5:
            person["gender"] = p.gender
        ids: dict[str, str] = {}
        if channel == "wechat_official_account":
            ids["wechat_openid"] = f"o{p.pid:x}A"
            ids["wechat_appid"] = "wx_official"
            if p.unionid:
                ids["wechat_unionid"] = p.unionid
        if channel == "facebook_leads" and p.facebook_id:
            ids["facebook_id"] = p.facebook_id
        if ids:
            person["platform_ids"] = ids
        if channel == "crm_export":
            person["crm_ids"] = [{"system": "zoho", "object": "contacts", "id": p.crm_id}]
        day = rng.randrange(1, 28)
        at = f"2026-0{rng.randrange(1, 10)}-{day:02d}T10:00:00+08:00"
        return {"schema_version": "1.0", "person": person,
                "interactions": [{"type": "form_submitted", "channel": channel, "at": at}],
                "consents": [{"purpose": "marketing", "status": rng.choice(("granted", "denied")), "channel": "any",
                              "at": f"2026-0{rng.randrange(1, 10)}-{day:02d}T10:00:00+08:00"}],
                "provenance": {"connection": channel, "stream": stream, "source_pk": f"{channel[:3]}-{n}",
                               "read_at": f"2026-10-{day:02d}T00:00:00+00:00"}}

    def records(self, count: int, start_pid: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """(true person id, cleaned canonical record) until ``count`` records."""
        cleaner = Cleaner(default_region="CN")
        for pid, raw in self.raw_records(count, start_pid):
            cleaned, reasons = cleaner.clean(raw)
            if not reasons:
                yield pid, cleaned

    def raw_records(self, count: int, start_pid: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """(true person id, raw record before cleaning) until ``count`` records."""
        rng = self.rng
        made, pid = 0, start_pid
        names, weights = [c[0] for c in CHANNELS], [c[2] for c in CHANNELS]
        streams = {c[0]: c[1] for c in CHANNELS}
        while made < count:
            p = self.person(pid)
            k = min(count - made, rng.choices((1, 2, 3, 4, 5, 6), (45, 25, 15, 8, 4, 3))[0])
            for _ in range(k):
                channel = rng.choices(names, weights)[0]
                yield pid, self.record(p, channel, streams[channel], start_pid * 10 + made)
                made += 1
            pid += 1


def clean_batch(items: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """``records``' cleaning step for a batch of ``raw_records`` (picklable: runs on worker processes)."""
    cleaner = Cleaner(default_region="CN")
    out = []
    for pid, raw in items:
        cleaned, reasons = cleaner.clean(raw)
        if not reasons:
            out.append((pid, cleaned))
    return out
