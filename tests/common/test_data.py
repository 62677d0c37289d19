"""Reading a run's data from its DataConfig: explicit sources win, the rest is split off train."""
import dataclasses

import pytest

from transferkit.common.data.read import load_splits
from transferkit.common.data.domain import get_domain
from tests.common.conftest import run_config


@pytest.fixture(scope="module")
def vision(tiny_backbone):
    return get_domain("vision")


def _sizes(splits):
    return (len(splits.train), len(splits.validation),
            None if splits.test is None else len(splits.test))


def _with(config, **data):
    return dataclasses.replace(config, data=dataclasses.replace(config.data, **data))


def test_train_only_is_split_three_ways(vision, colour_folders):
    splits = load_splits(run_config(colour_folders), vision)
    assert _sizes(splits) == (66, 24, 30)  # validation 0.2, test 0.25 of 120


def test_explicit_test_source_is_used_as_is(vision, colour_folders, colour_holdout):
    config = _with(run_config(colour_folders), test=str(colour_holdout))
    splits = load_splits(config, vision)
    assert _sizes(splits) == (96, 24, 18)
    assert all("colours_holdout" in item for item in splits.test.items)


def test_explicit_validation_still_splits_off_a_test_set(vision, colour_folders,
                                                         colour_holdout):
    """``test``: "Optional test source; else split off ``train``" (DataConfig)."""
    config = _with(run_config(colour_folders), validation=str(colour_holdout))
    splits = load_splits(config, vision)
    assert _sizes(splits) == (90, 18, 30)
    assert all("colours_holdout" in item for item in splits.validation.items)
    assert not set(splits.test.items) & set(splits.train.items)


def test_both_explicit_sources_leave_train_whole(vision, colour_folders, colour_holdout):
    config = _with(run_config(colour_folders), validation=str(colour_holdout),
                   test=str(colour_holdout))
    assert _sizes(load_splits(config, vision)) == (120, 18, 18)


def test_zero_test_split_gives_no_test_set(vision, colour_folders, colour_holdout):
    config = _with(run_config(colour_folders), validation=str(colour_holdout), test_split=0.0)
    assert _sizes(load_splits(config, vision)) == (120, 18, None)


def test_limit_takes_a_stratified_subset_first(vision, colour_folders):
    from collections import Counter

    splits = load_splits(_with(run_config(colour_folders), limit=60), vision)
    assert sum(_sizes(splits)) == 60
    assert Counter(splits.train.labels) == {"blue": 11, "green": 11, "red": 11}


def test_no_data_source_is_a_clear_error(vision, colour_folders):
    with pytest.raises(ValueError, match="data.train: no data source given"):
        load_splits(_with(run_config(colour_folders), train=""), vision)
