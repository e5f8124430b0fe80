"""The knowledge API (/v1/kb) of a real `yiju serve` on 127.0.0.1: domains, uploads, provenance, listing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server_harness import create_key, prepare_home, start_server, stop_server


@dataclass
class Api:
    base_url: str
    home: Path
    curator: dict[str, str]
    clinic: dict[str, str]

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.base_url + path, headers=self.curator, timeout=60, **kw)

    def put(self, path: str, **kw) -> httpx.Response:
        return httpx.put(self.base_url + path, headers=self.curator, timeout=60, **kw)

    def upload(self, files: list[tuple[str, bytes]], **data) -> httpx.Response:
        return httpx.post(
            self.base_url + "/v1/kb/import",
            headers=self.curator,
            files=[("files", (name, content)) for name, content in files],
            data=data,
            timeout=120,
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("kbapi") / "home"
    prepare_home(home)
    curator = {"Authorization": f"Bearer {create_key(home, 'curator', 'kb-curator')}"}
    clinic = {"Authorization": f"Bearer {create_key(home, 'clinic', 'kb-clinic')}"}
    proc, base_url = start_server(home)
    try:
        yield Api(base_url, home, curator, clinic)
    finally:
        stop_server(proc)


def test_curator_sets_domains_of_a_law(api: Api) -> None:
    laws = {x["law"]: x for x in api.get("/v1/kb/laws").json()}
    assert laws["医疗纠纷预防和处理条例"]["domains"] == ["medical", "legal"]
    assert laws["劳动合同法"]["domains"] == ["legal"]
    res = api.put("/v1/kb/laws/《中华人民共和国劳动合同法》/domains", json={"domains": ["legal", "medical"]})
    assert res.status_code == 200, res.text
    assert res.json()["domains"] == ["legal", "medical"]
    medical = {x["law"] for x in api.get("/v1/kb/laws", params={"domain": "medical"}).json()}
    assert "劳动合同法" in medical
    assert api.put("/v1/kb/laws/劳动合同法/domains", json={"domains": None}).json()["domains"] == ["legal"]
    missing = api.put("/v1/kb/laws/没有这部法/domains", json={"domains": ["legal"]})
    assert missing.status_code == 404 and "没有这部法" in missing.text
    bad = api.put("/v1/kb/laws/劳动合同法/domains", json={"domains": ["Legal;x"]})
    assert bad.status_code == 400 and "invalid domain" in bad.text
    wrong_role = httpx.put(
        api.base_url + "/v1/kb/laws/劳动合同法/domains", headers=api.clinic, json={"domains": ["legal"]}
    )
    assert wrong_role.status_code == 403


def test_upload_pdf_docx_html_guidelines(api: Api, tmp_path: Path) -> None:
    from tests.knowledge.test_documents import FLU_LINES, HTML, write_docx, write_pdf

    files = [
        ("flu.pdf", write_pdf(tmp_path / "flu.pdf", FLU_LINES).read_bytes()),
        ("hfmd.docx", write_docx(tmp_path / "hfmd.docx").read_bytes()),
        ("rabies.html", HTML.encode()),
    ]
    res = api.upload(files, domain="medical")
    assert res.status_code == 200, res.text
    assert res.json()["files_imported"] == 3 and res.json()["errors"] == [], res.json()
    guides = {x["law"]: x for x in api.get("/v1/kb/laws", params={"kind": "指南"}).json()}
    assert {
        "测试流感诊疗方案（2025年版）",
        "测试手足口病诊疗指南（2018年版）",
        "测试狂犬病暴露预防处置规范",
    } <= set(guides)
    assert guides["测试流感诊疗方案（2025年版）"]["origin"] == "local"
    hits = api.get(
        "/v1/kb/search", params={"q": "流感 抗病毒治疗 48小时", "domain": "medical", "k": 5}
    ).json()
    mine = [h for h in hits if h["law"] == "测试流感诊疗方案（2025年版）"]
    assert mine and mine[0]["citation"] == "《测试流感诊疗方案（2025年版）》三、治疗"
    assert mine[0]["uploader"] == "kb-curator" and mine[0]["origin"] == "local"


def test_upload_scanned_pdf_names_the_file_and_imports_nothing(api: Api, tmp_path: Path) -> None:
    from tests.knowledge.test_documents import write_scanned_pdf

    before = api.get("/v1/kb/stats").json()["kb_version"]
    res = api.upload([("扫描版指南.pdf", write_scanned_pdf(tmp_path / "s.pdf").read_bytes())])
    assert res.status_code == 200, res.text
    (error,) = res.json()["errors"]
    assert error["file"] == "扫描版指南.pdf" and "no text layer" in error["message"]
    assert api.get("/v1/kb/stats").json()["kb_version"] == before


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("fake.pdf", b"just text pretending to be a pdf", 415, "not a PDF"),
        ("fake.docx", b"PK\x03\x04 broken zip", 415, "not a Word"),
        ("other.docx", None, 415, "not a Word"),
        ("bomb.docx", "bomb", 413, "unpacks to too much"),
    ],
)
def test_upload_refuses_documents_that_are_not_what_they_say(
    api: Api, name: str, data: bytes | str | None, status: int, message: str
) -> None:
    import io
    import zipfile

    if data is None or data == "bomb":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            if data == "bomb":
                zf.writestr("[Content_Types].xml", "<Types/>")
                zf.writestr("word/document.xml", b"0" * 200_000_000)
            else:
                zf.writestr("law.md", "第一条 不是 Word 文件。")
        data = buf.getvalue()
    res = api.upload([(name, data)])
    assert res.status_code == status and message in res.text, res.text
