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
