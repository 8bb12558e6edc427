"""HostSyncRecorder: sync warnings counted per line of the root folder, other warnings passed on."""
import os
import warnings

import pytest

from slowfast.utils.host_syncs import SYNC_WARNING, HostSyncRecorder, SyncSite

HERE = os.path.dirname(os.path.abspath(__file__))


def _sync_here() -> None:
    warnings.warn(SYNC_WARNING, UserWarning)


def test_each_sync_is_counted_at_the_innermost_line_under_the_root():
    with HostSyncRecorder(root=HERE) as recorder:
        for _ in range(3):
            _sync_here()
    ((site, count),) = recorder.counts.items()
    assert count == 3 and recorder.total == 3
    assert site.function == "_sync_here"
    assert site.path == os.path.join("utils", "test_host_syncs.py")
    assert site.line == _sync_here.__code__.co_firstlineno + 1


def test_a_sync_from_outside_the_root_is_counted_under_none(tmp_path):
    with HostSyncRecorder(root=str(tmp_path)) as recorder:
        _sync_here()
    assert recorder.counts == {None: 1}


def test_other_warnings_still_reach_the_user_and_filters_are_restored():
    before = warnings.showwarning
    with HostSyncRecorder(root=HERE) as recorder, pytest.warns(DeprecationWarning, match="old API"):
        warnings.warn("old API", DeprecationWarning)
    assert recorder.total == 0
    assert warnings.showwarning is before


def test_site_prints_as_path_line_and_function():
    assert str(SyncSite("slowfast/engine/trainer.py", 12, "train_step")) == "slowfast/engine/trainer.py:12 (train_step)"
