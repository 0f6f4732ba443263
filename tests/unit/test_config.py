import base64
import json

import pytest
from pydantic import ValidationError

from weiwai.config import Settings

KEY = base64.b64encode(b"q" * 32).decode()
GOOD = {
    "data_keys": f"k1:{KEY}",
    "active_key_id": "k1",
    "blind_index_key": "b" * 40,
    "secret_key": "s" * 40,
}


def test_real_secrets_are_accepted_and_last_key_is_active_by_default():
    settings = Settings(**{**GOOD, "data_keys": f"k0:{KEY},k1:{KEY}", "active_key_id": ""})
    assert settings.active_key_id == "k1"
    assert set(settings.parsed_data_keys()) == {"k0", "k1"}


@pytest.mark.parametrize(
    "override,needle",
    [
        ({"data_keys": ""}, "WEIWAI_DATA_KEYS"),
        ({"blind_index_key": "changeme"}, "WEIWAI_BLIND_INDEX_KEY"),
        ({"secret_key": "secret"}, "WEIWAI_SECRET_KEY"),
        ({"secret_key": "short"}, "WEIWAI_SECRET_KEY"),
        ({"data_keys": "k1:" + base64.b64encode(b"x" * 16).decode()}, "32 bytes"),
        ({"active_key_id": "nope"}, "not among"),
    ],
)
def test_missing_or_placeholder_secrets_are_refused_outside_demo_mode(override, needle):
    with pytest.raises(ValidationError, match=needle):
        Settings(**{**GOOD, **override})


NO_SECRETS = {"data_keys": "", "active_key_id": "", "blind_index_key": "", "secret_key": ""}


def test_demo_mode_generates_keys_once_and_reuses_them(tmp_path):
    key_file = tmp_path / "keys.json"
    first = Settings(demo_mode=True, demo_key_file=key_file, **NO_SECRETS)
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    second = Settings(demo_mode=True, demo_key_file=key_file, **NO_SECRETS)
    assert first.parsed_data_keys() == second.parsed_data_keys()
    assert first.secret_key == second.secret_key == json.loads(key_file.read_text())["secret_key"]


def test_bucket_bands_must_be_contiguous():
    with pytest.raises(ValidationError, match="should start at"):
        Settings(**GOOD, buckets=[{"label": "A", "min_dpd": 1, "max_dpd": 10}, {"label": "B", "min_dpd": 12}])
    with pytest.raises(ValidationError, match="only the last"):
        Settings(**GOOD, buckets=[{"label": "A", "min_dpd": 1}, {"label": "B", "min_dpd": 2}])


def test_waterfall_must_name_each_component_once():
    with pytest.raises(ValidationError, match="payment_waterfall"):
        Settings(**GOOD, payment_waterfall=["fee", "fee", "interest", "principal"])
