"""Settings come from LORE_* variables, with clear errors for bad values."""

from __future__ import annotations

import pytest

from backend.errors import ConfigError
from backend.settings import Settings


def test_sections_and_types_are_read_from_prefixed_variables(tmp_path):
    env = {"LORE_ES_URL": "http://es:9200", "LORE_EMBED_BATCH_SIZE": "8", "LORE_LLM_TEMPERATURE": "0.5",
           "LORE_REDIS_URL": "redis://r:6379/1"}
    s = Settings.from_env(env, dotenv=None)
    assert (s.es.url, s.embed.batch_size, s.llm.temperature, s.redis_url) == ("http://es:9200", 8, 0.5,
                                                                             "redis://r:6379/1")
    assert s.es.index == "lore-chunks"  # untouched defaults stay


def test_dotenv_fills_what_the_environment_lacks(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("LORE_ES_URL=http://from-file:9200\nLORE_LLM_URL=http://llm-file:8080\n")
    s = Settings.from_env({"LORE_ES_URL": "http://from-env:9200"}, dotenv=dotenv)
    assert s.es.url == "http://from-env:9200" and s.llm.url == "http://llm-file:8080"


def test_a_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="LORE_EMBED_BATCH_SIZE"):
        Settings.from_env({"LORE_EMBED_BATCH_SIZE": "lots"}, dotenv=None)


def test_env_example_documents_every_setting():
    from dataclasses import fields, is_dataclass
    from pathlib import Path

    documented = Path(__file__).resolve().parents[2].joinpath(".env.example").read_text()

    def names(obj, prefix="LORE_"):
        for f in fields(obj):
            value = getattr(obj, f.name)
            if is_dataclass(value):
                yield from names(value, f"{prefix}{f.name.upper()}_")
            else:
                yield f"{prefix}{f.name.upper()}"

    missing = [n for n in names(Settings()) if f"{n}=" not in documented]
    assert missing == []
