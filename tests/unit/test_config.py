"""Settings: file, environment and overrides; secrets never print."""

from __future__ import annotations

import pytest

from kgcomplete.config import load_settings
from kgcomplete.errors import ConfigError


def test_precedence_file_env_override(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text('[neo4j]\nuri = "bolt://file:7687"\nusername = "fileuser"\n[graph]\nkey_property = "id"\n')
    s = load_settings(cfg, env={})
    assert s.neo4j.uri == "bolt://file:7687" and s.graph.key_property == "id"
    s = load_settings(cfg, env={"NEO4J_URI": "neo4j://env:7687", "NEO4J_PASSWORD": "pw-from-env"})
    assert s.neo4j.uri == "neo4j://env:7687" and s.neo4j.username == "fileuser"
    s = load_settings(cfg, env={"NEO4J_URI": "neo4j://env:7687"}, neo4j={"uri": "bolt://flag:1", "username": None})
    assert s.neo4j.uri == "bolt://flag:1" and s.neo4j.username == "fileuser"


def test_type_constraints_from_the_file(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text('[suggest.type_constraints]\nWORKS_AT = { heads = ["Person"], tails = ["Company", "Lab"] }\n')
    c = load_settings(cfg, env={}).suggest.type_constraints["WORKS_AT"]
    assert c.heads == ["Person"] and c.tails == ["Company", "Lab"]


def test_password_never_prints(tmp_path):
    s = load_settings(None, env={"NEO4J_PASSWORD": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(s) and "s3cr3t-value" not in str(s.model_dump())
    assert s.neo4j.password.get_secret_value() == "s3cr3t-value"


@pytest.mark.parametrize("text, culprit", [
    ('[graph]\nkey_propery = "uid"\n', "graph.key_propery"),
    ('[neo4j]\nuri = "http://x:7474"\n', "neo4j.uri"),
    ('[graph]\nlabels = "Person"\n', "graph.labels"),
    ('graph = 3\n', "graph"),
    ('[graph\n', "not valid TOML"),
    ('[suggest.type_constraints.WORKS_AT]\nheads = ["Person"]\nhead = ["X"]\n', "suggest.type_constraints.WORKS_AT.head"),
    ('[suggest.type_constraints]\nWORKS_AT = { tails = "Company" }\n', "suggest.type_constraints.WORKS_AT.tails"),
])
def test_bad_config_names_the_culprit(tmp_path, text, culprit):
    cfg = tmp_path / "k.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=culprit.replace(".", r"\.")):
        load_settings(cfg, env={})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_the_documented_config_file_parses_and_names_every_setting():
    from pathlib import Path

    from pydantic import BaseModel

    from kgcomplete.config import JobSettings, Settings

    path = Path(__file__).resolve().parents[2] / "kgcomplete.toml"
    settings = load_settings(path, env={})
    assert settings.job("nightly").cron == "0 2 * * *"
    text = path.read_text()
    for section, field in Settings.model_fields.items():
        model = field.annotation if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel) \
            else JobSettings
        for key in model.model_fields:
            if key != "password":
                assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key} is not documented"
