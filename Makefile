# yiju — two commands: `make demo` (set up + run on the starter knowledge base) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= $(CURDIR)/.yiju-demo
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False
export TOKENIZERS_PARALLELISM=false

.PHONY: venv dev demo test lint browser-deps pg-deps

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
venv: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .

dev: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'

demo: venv
	$(BIN)/yiju --home $(HOME_DIR) kb import --starter
	$(BIN)/yiju --home $(HOME_DIR) ask "公司拖欠工资，劳动者可以解除劳动合同吗？"
	$(BIN)/yiju --home $(HOME_DIR) ask "被狗咬伤了，伤口应该怎么处理？要打疫苗吗？"
	$(BIN)/yiju --home $(HOME_DIR) serve --host 127.0.0.1 --port 7860

browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will skip"; \
	fi

# PostgreSQL (issue 16): the shared-database tests start a throw-away cluster on 127.0.0.1 (tests/pg_cluster.py).
# CI sets YIJU_REQUIRE_PG=1, so those tests fail (never skip) when the server cannot be installed or started.
pg-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || echo "warning: could not install postgresql; PostgreSQL tests skip (fail under YIJU_REQUIRE_PG=1)"; \
	fi

# The browser suite runs in a pytest process of its own, each test retried once: a real browser on a busy
# 2-core machine races (a chat stall found that way was a real bug: an Enter pressed while the previous answer
# was finishing was dropped, fixed in ui/chat.py). A failed try prints the screenshot path and every server's
# thread stacks at the end of the run (tests/browser/conftest.py), so a flaky failure stays visible.
test: dev browser-deps pg-deps
	$(BIN)/python -m pytest -q --ignore=tests/browser
	$(BIN)/python -m pytest -q tests/browser --reruns 1 --reruns-delay 2 -rR

# ruff (lint + format) and mypy over the packages (config: pyproject.toml [tool.mypy]).
lint: dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy
