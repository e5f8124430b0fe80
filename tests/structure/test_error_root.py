"""One exception root: every error class the packages define derives from `knowledge.errors.YijuError`
(issue 15), so `except YijuError` catches everything yiju reports on purpose and nothing else."""

from __future__ import annotations

import importlib
import pkgutil

from knowledge.errors import YijuError

PACKAGES = ("knowledge", "safety", "adapters", "assistant", "ui")
# Starlette control flow inside middleware (turned into HTTP responses there), not errors yiju reports.
NOT_ERRORS = {"assistant.api.ui_guard._TooManyFiles", "assistant.api.limits._BodyTooLarge"}


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules = [package] + [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}.")
            if not info.name.endswith("__main__")
        ]
        for module in modules:
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                ):
                    found.append(value)
    return found


def test_every_error_class_derives_from_the_one_root() -> None:
    classes = _exception_classes()
    assert len(classes) > 20  # the walk really reached the packages
    strays = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not issubclass(c, YijuError) and f"{c.__module__}.{c.__qualname__}" not in NOT_ERRORS
    )
    assert not strays, f"error classes outside YijuError: {strays}"


def test_application_errors_keep_their_meaning() -> None:
    from assistant.api.errors import classify_exception
    from assistant.errors import ConfigError, UserFacingError
    from knowledge.database import DatabaseError
    from safety.policy import PolicyError

    assert issubclass(ConfigError, UserFacingError) and issubclass(PolicyError, ValueError)
    assert classify_exception(ConfigError("bad field"))[0] == 400
    # A database fault is not user text: still a 500 with nothing internal in the message.
    status, _, message = classify_exception(DatabaseError("relation audit does not exist"))
    assert status == 500 and "relation" not in message
