"""Filling capacity a strategy left idle, by rerouting whole classes of accounts.

A strategy decides class by class, so it can leave an agency with free capacity while
accounts of another class wait, when the only agencies those accounts may go to are full
of accounts that could have gone to the idle agency. Example: agency A takes only early
buckets, B takes every bucket; early accounts split between A and B fill B, and late
accounts (B only) are left out while A still has room. Moving some early accounts from B
to A makes room at B for late ones.

This is the augmenting-path step of a maximum flow on the small graph of classes and
agencies (counts, not accounts): from a class with accounts left out, to an agency it may
use, to a class with accounts at that agency, to another agency … ending at an agency
with room. Shortest paths first (breadth-first), so it ends; each path is pushed with as
many accounts as it carries. The strategy's choices change only along those paths.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    """`count` accounts of class `cls` go to `to_slot`: from `from_slot`, or placed anew if None."""

    cls: int
    from_slot: int | None
    to_slot: int
    count: int


def reroute(
    placed: dict[tuple[int, int], int],
    left_out: dict[int, int],
    room: Sequence[int],
    members: Sequence[tuple[int, ...]],
) -> list[Move]:
    """The moves that place as many left-out accounts as the free room allows.

    `placed[(cls, slot)]` counts accounts of a class at a slot, `left_out[cls]` those
    waiting, `room[slot]` how many more a slot may take, `members[cls]` the slots a class
    may use. The arguments are not changed.
    """
    placed = {key: count for key, count in placed.items() if count > 0}
    left_out = {cls: count for cls, count in left_out.items() if count > 0}
    room = list(room)
    at_slot: dict[int, set[int]] = {}
    for cls, slot in placed:
        at_slot.setdefault(slot, set()).add(cls)
    moves: list[Move] = []
    while left_out and any(r > 0 for r in room):
        path = _shortest_path(left_out, room, members, at_slot)
        if path is None:
            break
        # path = [c0, s1, c1, s2, …, ck-1, sk]: c0 gets s1; each ci moves from si to si+1.
        classes, slots = path[0::2], path[1::2]
        amount = min(left_out[classes[0]], room[slots[-1]],
                     *(placed[(cls, slot)] for cls, slot in zip(classes[1:], slots[:-1], strict=True)))
        left_out[classes[0]] -= amount
        if not left_out[classes[0]]:
            del left_out[classes[0]]
        room[slots[-1]] -= amount
        moves.append(Move(classes[0], None, slots[0], amount))
        _add(placed, at_slot, classes[0], slots[0], amount)
        for cls, origin, target in zip(classes[1:], slots[:-1], slots[1:], strict=True):
            moves.append(Move(cls, origin, target, amount))
            _add(placed, at_slot, cls, origin, -amount)
            _add(placed, at_slot, cls, target, amount)
    return moves


def _add(placed: dict, at_slot: dict, cls: int, slot: int, amount: int) -> None:
    placed[(cls, slot)] = placed.get((cls, slot), 0) + amount
    if placed[(cls, slot)] > 0:
        at_slot.setdefault(slot, set()).add(cls)
    else:
        del placed[(cls, slot)]
        at_slot[slot].discard(cls)


def _shortest_path(left_out, room, members, at_slot) -> list[int] | None:
    """Breadth-first from every class with accounts left out to a slot with room."""
    came_from: dict[tuple[str, int], tuple[str, int] | None] = {("c", cls): None for cls in sorted(left_out)}
    queue = deque(sorted(came_from))
    while queue:
        kind, node = queue.popleft()
        if kind == "c":
            for slot in members[node]:
                if ("s", slot) in came_from:
                    continue
                came_from[("s", slot)] = (kind, node)
                if room[slot] > 0:
                    return _unwind(came_from, ("s", slot))
                queue.append(("s", slot))
        else:
            for cls in sorted(at_slot.get(node, ())):
                if ("c", cls) not in came_from:
                    came_from[("c", cls)] = (kind, node)
                    queue.append(("c", cls))
    return None


def _unwind(came_from, end) -> list[int]:
    path = []
    node = end
    while node is not None:
        path.append(node[1])
        node = came_from[node]
    return path[::-1]
