"""Realistic exhibition sign-up rows (Chinese headers) for the ingest benchmark and crash tests.

Names in Han script and pinyin, phones in the formats people type (+86, 0086, dashes, spaces,
full-width digits), e-mails with stray case and spaces, a few deliberately bad rows.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

HEADER = ["序号", "姓名", "手机", "邮箱", "公司", "职位", "城市", "省份", "签到", "报名时间", "同意接收资讯"]
FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏建辉宇飞浩然思涵子轩梓萱欣怡"
COMPANIES = ["华信科技", "旭日贸易", "远航物流", "莲花设计", "星光传媒", "碧玉医药", "北风科技", "港湾金融",
             "珠江制造", "蓝海物流", "磐石建设", "飞翔航空", "东方电子", "长城软件", "金桥咨询"]
TITLES = ["采购经理", "销售主管", "总经理", "市场总监", "工程师", "研发总监", "客户经理", "运营经理", "项目经理"]
CITIES = [("深圳", "广东"), ("广州", "广东"), ("上海", "上海"), ("北京", "北京"), ("杭州", "浙江"),
          ("南京", "江苏"), ("成都", "四川"), ("武汉", "湖北"), ("厦门", "福建"), ("青岛", "山东")]
DOMAINS = ["163.com", "qq.com", "126.com", "huaxin-tech.cn", "example.cn", "sina.com", "outlook.com"]
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "185", "186", "187",
                   "188", "189", "198", "199")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _phone(rng: random.Random) -> str:
    digits = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
    style = rng.randrange(6)
    if style == 0:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 1:
        return f"0086{digits}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return digits.translate(FULL_WIDTH)
    return digits


def rows(count: int, seed: int = 7, bad_every: int = 500) -> Iterator[list[str]]:
    """``count`` data rows; every ``bad_every``-th row has an invalid phone or e-mail."""
    rng = random.Random(seed)
    for i in range(1, count + 1):
        name = rng.choice(FAMILY) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if rng.random() < 0.05:
            name += rng.choice(("先生", "女士"))
        user = f"user{i}.{rng.randrange(10**6)}"
        email = f"{user}@{rng.choice(DOMAINS)}"
        if rng.random() < 0.1:
            email = f" {email.upper()} "
        phone = _phone(rng)
        if bad_every and i % bad_every == 0:
            if rng.random() < 0.5:
                phone = "12345"
            else:
                email = email.strip().replace("@", "@@")
        city, province = rng.choice(CITIES)
        day, minute = rng.randrange(1, 29), rng.randrange(600)
        yield [str(i), name, phone, email, rng.choice(COMPANIES), rng.choice(TITLES), city, province,
               rng.choice("是否"), f"2026-03-{day:02d} {8 + minute // 60:02d}:{minute % 60:02d}", rng.choice("是否")]


def write_csv(path: Path, count: int, seed: int = 7, bad_every: int = 500) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed, bad_every))
    return path


def bad_row_count(count: int, bad_every: int = 500) -> int:
    return count // bad_every if bad_every else 0
