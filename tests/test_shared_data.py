"""The real robot data of ../shared/data must be there: a missing folder or file fails the tests
(always in CI; locally unless ACTOK_SKIP_SHARED_DATA=1, which skips them instead)."""

from __future__ import annotations

import conftest
import pytest
from conftest import REAL_FILES, SHARED_DATA, SKIP_SHARED_DATA_ENV, require_shared_data


def test_every_real_data_file_is_present():
    assert require_shared_data() == SHARED_DATA
    for fname in REAL_FILES.values():
        assert (SHARED_DATA / fname).is_file(), SHARED_DATA / fname


@pytest.fixture
def no_opt_out(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(SKIP_SHARED_DATA_ENV, raising=False)
    return monkeypatch


def test_missing_folder_fails_naming_it(no_opt_out, tmp_path):
    missing = tmp_path / "shared" / "data"
    no_opt_out.setattr(conftest, "SHARED_DATA", missing)
    with pytest.raises(pytest.fail.Exception, match=f"real robot data missing: {missing}"):
        require_shared_data()


def test_missing_file_fails_naming_it(no_opt_out, tmp_path):
    for fname in list(REAL_FILES.values())[1:]:
        (tmp_path / fname).write_bytes(b"")
    no_opt_out.setattr(conftest, "SHARED_DATA", tmp_path)
    first = tmp_path / next(iter(REAL_FILES.values()))
    with pytest.raises(pytest.fail.Exception, match=f"missing: {first}. It lives"):
        require_shared_data()


def test_opt_out_skips_locally(no_opt_out, tmp_path):
    no_opt_out.setattr(conftest, "SHARED_DATA", tmp_path / "absent")
    no_opt_out.setenv(SKIP_SHARED_DATA_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match=f"{SKIP_SHARED_DATA_ENV} is set"):
        require_shared_data()


@pytest.mark.parametrize("opt_out", ["0", ""])
def test_opt_out_values_that_do_not_opt_out(no_opt_out, tmp_path, opt_out):
    no_opt_out.setattr(conftest, "SHARED_DATA", tmp_path / "absent")
    no_opt_out.setenv(SKIP_SHARED_DATA_ENV, opt_out)
    with pytest.raises(pytest.fail.Exception):
        require_shared_data()


def test_opt_out_is_refused_in_ci(no_opt_out, tmp_path):
    no_opt_out.setattr(conftest, "SHARED_DATA", tmp_path / "absent")
    no_opt_out.setenv(SKIP_SHARED_DATA_ENV, "1")
    no_opt_out.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="real robot data missing"):
        require_shared_data()
    # ... and the session does not even start
    with pytest.raises(pytest.UsageError, match=f"{SKIP_SHARED_DATA_ENV} is set but CI is too"):
        conftest.pytest_configure(None)
