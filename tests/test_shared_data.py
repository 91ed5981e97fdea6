"""The real robot data of ../shared/data: in CI (``CI`` set) a missing folder or file fails the
tests, naming it; outside CI the data's rules of use apply (a user's clone has no such folder):
those tests skip with a clear message, unless ACTOK_REQUIRE_SHARED_DATA=1."""

from __future__ import annotations

import conftest
import pytest
from conftest import REAL_FILES, REQUIRE_SHARED_DATA_ENV, SHARED_DATA, require_shared_data


def test_every_real_data_file_is_present_in_ci_or_skips_locally():
    assert require_shared_data() == SHARED_DATA
    for fname in REAL_FILES.values():
        assert (SHARED_DATA / fname).is_file(), SHARED_DATA / fname


@pytest.fixture
def local(monkeypatch):
    """A developer's machine: neither CI nor the explicit requirement set."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(REQUIRE_SHARED_DATA_ENV, raising=False)
    return monkeypatch


@pytest.mark.parametrize("flag", [("CI", "true"), (REQUIRE_SHARED_DATA_ENV, "1")])
def test_missing_folder_fails_naming_it_in_ci(local, tmp_path, flag):
    missing = tmp_path / "shared" / "data"
    local.setattr(conftest, "SHARED_DATA", missing)
    local.setenv(*flag)
    with pytest.raises(pytest.fail.Exception, match=f"real robot data missing: {missing}"):
        require_shared_data()


def test_missing_file_fails_naming_it_in_ci(local, tmp_path):
    for fname in list(REAL_FILES.values())[1:]:
        (tmp_path / fname).write_bytes(b"")
    local.setattr(conftest, "SHARED_DATA", tmp_path)
    local.setenv("CI", "true")
    first = tmp_path / next(iter(REAL_FILES.values()))
    with pytest.raises(pytest.fail.Exception, match=f"missing: {first}. It lives"):
        require_shared_data()


def test_missing_folder_skips_locally_with_a_clear_message(local, tmp_path):
    local.setattr(conftest, "SHARED_DATA", tmp_path / "absent")
    with pytest.raises(
        pytest.skip.Exception, match=r"real robot data missing .*absent.*outside CI"
    ):
        require_shared_data()


@pytest.mark.parametrize("value", ["0", "", "false"])
def test_falsy_values_do_not_require(local, tmp_path, value):
    local.setattr(conftest, "SHARED_DATA", tmp_path / "absent")
    local.setenv("CI", value)
    local.setenv(REQUIRE_SHARED_DATA_ENV, value)
    with pytest.raises(pytest.skip.Exception):
        require_shared_data()
