"""A tiny OpenAI-compatible chat server for tests: `python openai_stub_server.py REPLIES.json LOG.jsonl`.

Binds 127.0.0.1 on a free port and prints `READY <port>`. REPLIES maps a model name to the content it
answers (`"*"` for any other model; a model mapped to `"!500"` answers HTTP 500, `"!sleep:S"` sleeps S
seconds first). Every request body is appended to LOG as one JSON line. Streams SSE when asked.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPLIES: dict[str, str] = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
LOG = Path(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _json(self, code: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in REPLIES]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": "not found"}})
            return
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        req["_auth"] = self.headers.get("Authorization")
        with LOG.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(req, ensure_ascii=False) + "\n")
        model = req.get("model", "")
        if model not in REPLIES and "*" not in REPLIES:
            self._json(404, {"error": {"message": f"model {model} not found"}})
            return
        reply = REPLIES.get(model, REPLIES.get("*", ""))
        if reply.startswith("!sleep:"):
            time.sleep(float(reply.split(":", 1)[1]))
            reply = REPLIES.get("*", "")
        if reply == "!500":
            self._json(500, {"error": {"message": "internal error"}})
            return
        if not req.get("stream"):
            self._json(
                200,
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b": keep-alive\n\n")
        for i in range(0, len(reply), 5):
            chunk = {"choices": [{"index": 0, "delta": {"content": reply[i : i + 5]}}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
