"""domain.public_map's pure rules: which cell level a zoom reads, and the bounding-box caps."""

from __future__ import annotations

import math

import pytest

from domain.errors import DomainError
from domain.models import Category
from domain.public_map import CELL_LEVELS, BBox, MapFilter, cluster_grid, report_tile_inputs
from domain.reference import ReferenceData


@pytest.mark.parametrize(
    ("zoom", "level", "cells"),
    [(0, 2, 1125), (8, 2, 4), (10, 2, 1), (11, 1, 2), (12, 1, 1), (13, 0, 2), (14, 0, 1), (18, 0, 1)],
)
def test_a_zoom_reads_the_coarsest_cells_no_larger_than_its_clusters(zoom: int, level: int, cells: int) -> None:
    assert cluster_grid(zoom) == (level, cells)


def test_clusters_stay_near_a_quarter_tile_at_every_clustered_zoom() -> None:
    for zoom in range(15):
        level, cells = cluster_grid(zoom)
        quarter_tile = 360 / 2**zoom / 4
        assert 0.5 <= CELL_LEVELS[level] * cells / quarter_tile <= 1.5, zoom


@pytest.mark.parametrize(
    ("box", "code"),
    [
        (BBox(106.9, -6.3, 106.8, -6.2), "INVALID_BBOX"),
        (BBox(106.8, -6.2, 106.9, -6.3), "INVALID_BBOX"),
        (BBox(-181.0, -6.3, 106.8, -6.2), "INVALID_BBOX"),
        (BBox(106.8, -6.3, math.nan, -6.2), "INVALID_BBOX"),
        (BBox(100.0, -10.0, 103.0, -8.0), "BBOX_TOO_LARGE"),
    ],
)
def test_bad_boxes_are_refused(box: BBox, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        box.check()

    assert caught.value.code == code


def test_jakarta_fits() -> None:
    assert BBox(106.6, -6.45, 107.05, -6.05).check()


def test_a_report_tile_depends_on_the_sensitive_categories_and_the_filter_s_category_ids() -> None:
    def snapshot(*categories: Category) -> ReferenceData:
        by_id = {c.id: c for c in categories}
        return ReferenceData(by_id, {c.code: c for c in categories}, {}, {}, {}, {}, {}, {})

    flood, crime = Category(id=1, code="flood", sensitive=False), Category(id=2, code="crime", sensitive=True)
    before = snapshot(flood, crime)
    after = snapshot(Category(id=1, code="flood", sensitive=True), crime)

    assert report_tile_inputs(before, MapFilter()) == ((2,), None)
    assert report_tile_inputs(after, MapFilter()) == ((1, 2), None)
    assert report_tile_inputs(before, MapFilter(categories=("crime", "gone"))) == ((2,), (2,))
