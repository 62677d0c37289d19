"""Block groups: a backbone's natural blocks, bottom to top, for gradual unfreezing and
per-group learning rates.

A backbone's registration declares its groups (``register_backbone(..., groups=...)``):
either the names of the blocks that start each group, bottom to top (pure data, for
``tf_keras.applications`` networks), or a function ``fn(backbone) -> [(name, [blocks])]``.
A backbone that declares nothing gets one group per block when its builder chose the
blocks (transformer blocks), else its weighted layers grouped by name prefix
(``conv4_block3_1_conv`` -> ``conv4``, ``block_3_expand`` -> ``block_3``).

Example:
    >>> @register_backbone("my_net", domain="vision", contract=ImageContract(size=96),
    ...                    groups=("stem_conv", "stage2_conv1", "stage3_conv1"))
    ... def my_net(weights=None, contract=None): ...  # doctest: +SKIP
    >>> [g.name for g in block_groups(create_backbone("my_net"))]  # doctest: +SKIP
    ['stem_conv', 'stage2_conv1', 'stage3_conv1']
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from transferkit.common.model.registry import Backbone, weighted_leaves

_PREFIX = re.compile(r"^[A-Za-z_]*?[A-Za-z]+_?\d+")


@dataclass(frozen=True, eq=False)
class BlockGroup:
    """One group: a name and its blocks (the units freezing sets), bottom to top."""

    name: str
    blocks: tuple

    def variables(self) -> list:
        """The group's trainable variables now."""
        return [v for block in self.blocks for v in block.trainable_weights]


def block_groups(backbone: Backbone) -> list[BlockGroup]:
    """The groups of ``backbone``'s blocks, bottom to top; every block is in exactly one.

    Raises:
        ValueError: a declared group names a block the backbone does not have.
    """
    units = list(backbone.blocks)
    declared = getattr(backbone.spec, "groups", ()) if backbone.spec is not None else ()
    if callable(declared):
        return [BlockGroup(name, tuple(blocks)) for name, blocks in declared(backbone)]
    if declared:
        return by_boundaries(units, declared, backbone.name)
    if [id(u) for u in units] != [id(u) for u in weighted_leaves(backbone.model)]:
        return [BlockGroup(u.name, (u,)) for u in units]  # the builder's own blocks
    return by_prefix(units)


def by_boundaries(units: list, starts, backbone_name: str = "") -> list[BlockGroup]:
    """Groups that start at the blocks named in ``starts``, bottom to top: each starts at
    the first block after the previous start whose name begins with it (``"conv4"`` finds
    ``conv4_block1_1_conv``); blocks below the first start join the first group."""
    cuts, at = [], 0
    for start in starts:
        found = next((i for i in range(at, len(units))
                      if units[i].name.startswith(start)), None)
        if found is None:
            raise ValueError(f"backbone {backbone_name!r}: its declared block group "
                             f"{start!r} matches no block after {units[at - 1].name!r}"
                             if at else f"backbone {backbone_name!r}: its declared block "
                             f"group {start!r} matches no block")
        cuts.append(found)
        at = found + 1
    cuts[0] = 0
    ends = cuts[1:] + [len(units)]
    return [BlockGroup(str(name).rstrip("_"), tuple(units[a:b]))
            for name, a, b in zip(starts, cuts, ends)]


def by_prefix(units: list) -> list[BlockGroup]:
    """Consecutive blocks whose names share a leading ``word[_]digits`` prefix, one group
    each (the fallback for a backbone that declares no groups)."""
    groups: list[list] = []
    names: list[str] = []
    for unit in units:
        match = _PREFIX.match(unit.name)
        key = match.group(0) if match else unit.name
        if names and names[-1] == key:
            groups[-1].append(unit)
        else:
            groups.append([unit])
            names.append(key)
    return [BlockGroup(name, tuple(g)) for name, g in zip(names, groups)]


def group_of(groups: list[BlockGroup]) -> dict[int, int]:
    """``id(block) -> index`` of its group in ``groups``."""
    return {id(block): i for i, g in enumerate(groups) for block in g.blocks}
