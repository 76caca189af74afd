from __future__ import annotations

from pathlib import Path

import pytest

from relumap_service.config import DEFAULTS, load_config


def test_defaults_put_database_and_queue_under_the_data_dir(tmp_path: Path) -> None:
    config = load_config(environ={"RELUMAP_DATA_DIR": str(tmp_path)})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'relumap.db'}"
    assert config["QUEUE_URL"] == f"sqlite:///{tmp_path / 'queue.db'}"
    assert config["EMBEDDED_WORKER"] is True


def test_environment_overrides_defaults_and_test_config_overrides_both() -> None:
    environ = {"RELUMAP_MAX_SAMPLES": "50", "RELUMAP_EMBEDDED_WORKER": "false"}
    config = load_config(environ=environ)
    assert config["MAX_SAMPLES"] == 50 and config["EMBEDDED_WORKER"] is False
    config = load_config({"MAX_SAMPLES": 7}, environ=environ)
    assert config["MAX_SAMPLES"] == 7
    assert load_config(environ={})["MAX_SAMPLES"] == DEFAULTS["MAX_SAMPLES"]


@pytest.mark.parametrize(
    ("name", "value"), [("RELUMAP_MAX_SAMPLES", "many"), ("RELUMAP_EMBEDDED_WORKER", "maybe")]
)
def test_bad_environment_values_are_named(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_config(environ={name: value})
