"""Issue 14 item 5: PII is masked on the normalised form of the text, for every kind, in the forms people (and
red-teamers) really write — full-width digits, spaced/dotted/dashed groups, invisible characters inside, names
without a 患者/当事人 marker, addresses, e-mail, landlines, Luhn-valid bank cards, 15- and 18-digit IDs — and
nothing of it reaches the audit database, its WAL or the exports.

The generated cases (hypothesis) failed before this change for every kind but the plain mobile and plain
18-digit ID; the ordinary texts at the end must stay untouched."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safety.normalize import remove_invisible
from safety.pii import contains_pii, mask_pii

INVISIBLE = ["\u200b", "\u3164", "\u00ad", "\u2060", "\ufeff", "\u200d"]
PREFIXES = ["", "你好，", "咨询一下：", "麻烦看看，", "信息如下 "]
SUFFIXES = ["", "，公司拖欠工资怎么办？", "。孩子发烧怎么办", "，谢谢！", " 请回复"]
SURNAMES = "王李张刘陈杨赵吴周徐孙朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞刚桂英玉兰萍"
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "慕容"]
AREAS = ["110101", "310104", "440305", "510107", "650102", "330106", "420111"]
PROVINCES = ["", "北京市", "广东省深圳市", "浙江省杭州市", "四川省成都市"]
DISTRICTS = ["", "朝阳区", "南山区", "西湖区", "武侯区"]
ROADS = ["建国", "人民", "解放", "中山", "长安", "幸福", "滨江"]
ESTATES = ["阳光", "翠湖", "锦绣", "金桂", "碧水"]


def _canon(text: str) -> str:
    """What the masking is judged on: NFKC, invisible characters removed."""
    return remove_invisible(unicodedata.normalize("NFKC", remove_invisible(text)))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", _canon(text))


@st.composite
def _disguise(draw: st.DrawFn, text: str) -> str:
    """Full-width digits/letters here and there, an invisible character or two inside."""
    wide = draw(st.booleans())
    out = []
    for ch in text:
        if wide and ch.isascii() and ch.isalnum() and draw(st.booleans()):
            ch = chr(ord(ch) + 0xFEE0)
        out.append(ch)
    for _ in range(draw(st.integers(0, 2))):
        out.insert(draw(st.integers(1, max(1, len(out) - 1))), draw(st.sampled_from(INVISIBLE)))
    return "".join(out)


@st.composite
def _grouped(draw: st.DrawFn, digits: str, layouts: list[list[int]]) -> str:
    """`digits` split by one of `layouts` (group lengths), joined by one separator style."""
    layout = draw(st.sampled_from(layouts))
    groups, pos = [], 0
    for n in layout:
        groups.append(digits[pos : pos + n])
        pos += n
    if pos < len(digits):
        groups.append(digits[pos:])
    sep = draw(st.sampled_from(["", " ", "-", ".", " - ", "  "]))
    return sep.join(g for g in groups if g)


def _digit_string(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@st.composite
def pii_case(draw: st.DrawFn) -> tuple[str, str, str]:
    """(kind, text, secret): `secret` must not survive masking (compared on the canonical form)."""
    kind = draw(st.sampled_from(["mobile", "id18", "id15", "bank", "landline", "email", "name", "address"]))
    if kind == "mobile":
        number = "1" + draw(st.sampled_from("3456789")) + draw(_digit_string(9))
        body = draw(_grouped(number, [[11], [3, 4, 4], [3, 8], [1] * 11, [3, 3, 5]]))
        if draw(st.booleans()):
            body = draw(st.sampled_from(["+86 ", "+86-", "86 "])) + body
        secret = number
    elif kind in ("id18", "id15"):
        birth = draw(
            st.dates(
                min_value=__import__("datetime").date(1930, 1, 1),
                max_value=__import__("datetime").date(2015, 12, 31),
            )
        )
        area = draw(st.sampled_from(AREAS))
        if kind == "id18":
            number = (
                area
                + birth.strftime("%Y%m%d")
                + draw(_digit_string(3))
                + draw(st.sampled_from("0123456789X"))
            )
            body = draw(_grouped(number, [[18], [6, 8, 4], [3, 3, 4, 4, 4], [6, 12]]))
        else:
            number = area + birth.strftime("%y%m%d") + draw(_digit_string(3))
            body = draw(_grouped(number, [[15], [6, 6, 3], [3, 3, 3, 3, 3]]))
        secret = number[:-1]
    elif kind == "bank":
        length = draw(st.sampled_from([16, 19]))
        prefix = draw(st.sampled_from(["6222", "6217", "6228", "4367", "5187"]))
        body_digits = prefix + draw(_digit_string(length - 5))
        number = body_digits + _luhn_digit(body_digits)
        body = draw(_grouped(number, [[length], [4, 4, 4, 4, 3], [4, 4, 4, 4]]))
        secret = number
    elif kind == "landline":
        area = draw(st.sampled_from(["010", "021", "022", "0755", "0571", "0371"]))
        number = draw(st.sampled_from("2345678")) + draw(_digit_string(7 if len(area) == 3 else 6))
        body = draw(st.sampled_from(["{a}-{n}", "({a}){n}", "{a} {n}", "（{a}）{n}", "{a}{n}"])).format(
            a=area, n=number
        )
        secret = area + number
    elif kind == "email":
        local = draw(st.from_regex(r"[a-z][a-z0-9._]{2,10}[a-z0-9]", fullmatch=True))
        domain = draw(
            st.sampled_from(["qq.com", "163.com", "example.cn", "mail.hospital.org.cn", "gmail.com"])
        )
        at = draw(st.sampled_from(["@", "＠", " @ "]))
        body = f"{draw(st.sampled_from(['邮箱', 'email: ', '联系邮箱：']))}{local}{at}{domain}"
        secret = f"{local}@"
    elif kind == "name":
        surname = draw(st.sampled_from([*SURNAMES, *COMPOUND]))
        given_name = "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
        marker = draw(st.sampled_from(["我叫", "本人", "我的名字是", "姓名：", "患者", "当事人", "我名叫"]))
        body = f"{marker}{surname}{given_name}，"
        secret = surname + given_name
        return kind, draw(st.sampled_from(PREFIXES)) + body + draw(st.sampled_from(SUFFIXES)), secret
    else:  # address
        road = draw(st.sampled_from(ROADS)) + draw(st.sampled_from(["路", "街", "大道"]))
        no = str(draw(st.integers(1, 999)))
        detail = draw(
            st.sampled_from(
                [
                    f"{road}{no}号",
                    f"{road}{no}号{draw(st.integers(1, 30))}号楼{draw(st.integers(1, 6))}单元{draw(st.integers(101, 2808))}室",
                    f"{draw(st.sampled_from(ESTATES))}小区{draw(st.integers(1, 40))}栋{draw(st.integers(1, 6))}单元{draw(st.integers(101, 2808))}",
                ]
            )
        )
        lead = draw(st.sampled_from(["家住", "住址：", "我住在", "地址是", "寄到"]))
        body = lead + draw(st.sampled_from(PROVINCES)) + draw(st.sampled_from(DISTRICTS)) + detail
        secret = detail
        return kind, draw(st.sampled_from(PREFIXES)) + body + "，" + draw(st.sampled_from(SUFFIXES)), secret
    text = draw(st.sampled_from(PREFIXES)) + draw(_disguise(body)) + draw(st.sampled_from(SUFFIXES))
    return kind, text, secret


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pii_case())
def test_every_pii_kind_is_masked_in_every_written_form(case: tuple[str, str, str]) -> None:
    kind, text, secret = case
    masked = mask_pii(text)
    canon = _canon(masked)
    if kind in ("mobile", "id18", "id15", "bank", "landline"):
        assert secret not in _digits(masked), (kind, text, masked)
    else:
        assert secret not in canon and secret.replace(" ", "") not in canon.replace(" ", ""), (
            kind,
            text,
            masked,
        )
    assert mask_pii(masked) == masked, "masking must be idempotent (stored copies are masked again on export)"
    for tail in SUFFIXES:
        if tail and text.endswith(tail):
            assert masked.endswith(tail), "masking replaced, not dropped, the rest of the text"
    if kind in ("mobile", "id18", "id15", "bank"):
        assert contains_pii(text) and not contains_pii(masked)


@pytest.mark.parametrize(
    "text",
    [
        "劳动合同法第四十七条规定的经济补偿怎么算？",
        "2023-10-12 13:45 在医院挂号",
        "罚款2000元以上10000元以下",
        "血压 140/90 mmHg，心率 0 1 2 3 4 5 6 7 8 9 10 评分",
        "全国心理援助热线 12356，希望24热线 400-161-9995，北京 010-82951332",
        "订单号 123456789012345678901",
        "本人申请劳动仲裁，本人陈述的事实属实",
        "我是高血压患者，患者有权知悉病情",
        "其他居住在本行政区域内的民族也应当有适当名额的代表。",
        "血液透析患者高钾血症的治疗",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text


# (question, the PII as written in it)
RED_TEAM_FORMS = {
    "full-width mobile": ("电话１３７１２３４５６７８，公司欠薪怎么办", "１３７１２３４５６７８"),
    "spaced ID": ("身份证110101 19900307 1235，被辞退了", "110101 19900307 1235"),
    "dotted mobile": ("手机136.1122.3344，工伤怎么认定", "136.1122.3344"),
    "no-marker name": ("我叫欧阳娜娜，医院拒绝给病历", "欧阳娜娜"),
    "self name": ("本人王小明，想问加班费", "王小明"),
    "address": ("家住北京市朝阳区建国路88号院3号楼2单元501室，邻居噪音扰民", "建国路88号"),
    "e-mail": ("我的邮箱ouyang.nana@example.cn，请发材料", "ouyang.nana@example.cn"),
    "landline": ("座机010-62345678，物业不修电梯", "010-62345678"),
    "bank card": ("银行卡6222 0212 3456 7890 128被冻结了", "6222 0212 3456 7890 128"),
    "15-digit ID": ("老身份证110101900307123还能用吗", "110101900307123"),
    "invisible inside": (
        "手机1\u200b3\u200b9\u200b1234\u200b5678，被骚扰",
        "1\u200b3\u200b9\u200b1234\u200b5678",
    ),
}


def _secret(written: str) -> str:
    """The canonical secret: digits only for numbers, the canonical text otherwise."""
    canon = _canon(written)
    digits = re.sub(r"\D", "", canon)
    return digits if len(digits) >= 8 else canon


def test_pii_forms_from_the_red_team_report_never_reach_storage(sec_server: Any) -> None:
    """Through the real server: the audit database (and its WAL), both exports and the turn API."""
    ids = []
    with sec_server.client("clinic") as c:
        for text, _written in RED_TEAM_FORMS.values():
            r = c.post("/v1/ask", json={"question": text})
            assert r.status_code == 200, r.text
            ids.append(r.json()["turn_id"])
    with sec_server.client("reviewer") as c:
        jsonl = c.get("/v1/audit/export", params={"fmt": "jsonl"})
        csv_text = c.get("/v1/audit/export", params={"fmt": "csv"})
        turns = [c.get(f"/v1/audit/turns/{i}").json() for i in ids]
    assert jsonl.status_code == 200 and csv_text.status_code == 200
    exported = {json.loads(line)["turn_id"] for line in jsonl.text.splitlines() if line.strip()}
    assert set(ids) <= exported
    assert set(ids) <= {row["turn_id"] for row in csv.DictReader(io.StringIO(csv_text.text))}
    db = b"".join(p.read_bytes() for p in sec_server.home.glob("audit.sqlite*") if p.is_file())
    for label, (_text, written) in RED_TEAM_FORMS.items():
        secret = _secret(written)
        for where, blob in (
            ("jsonl export", jsonl.text),
            ("csv export", csv_text.text),
            ("turn API", json.dumps(turns, ensure_ascii=False)),
        ):
            canon = _canon(blob)
            flat = re.sub(r"[\s\-.()（）]", "", canon) if secret.isdigit() else canon
            assert secret not in flat, f"{label}: {secret} unmasked in the {where}"
        for form in {written, secret}:
            assert form.encode() not in db, f"{label}: {form!r} stored unmasked in the audit database / WAL"
