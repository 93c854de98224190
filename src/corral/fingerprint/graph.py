"""The reference graph's processing order: strongly connected components, dependencies first.

A component of one file without a self-reference is an ordinary file; any
other component is a reference cycle, hashed as a group (see the package
docstring). The order is deterministic: nodes and edges are visited in sorted
order, whatever order the caller's mappings have.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

__all__ = ["components", "is_cycle"]


def components(edges: Mapping[str, Iterable[str]]) -> list[tuple[str, ...]]:
    """Return the strongly connected components of ``edges``, each file after its dependencies.

    ``edges`` maps every node to the nodes it references; a referenced node
    missing from the keys is ignored. Each component is a sorted tuple. This is
    Tarjan's algorithm, iterative (no recursion limit on long chains): it emits
    a component only once every component it reaches has been emitted.
    """
    graph = {node: sorted({t for t in targets if t in edges}) for node, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    order: list[tuple[str, ...]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        # Each frame: a node and the position of the next edge to follow.
        work: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work[-1]
            targets = graph[node]
            if i < len(targets):
                work[-1] = (node, i + 1)
                target = targets[i]
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                order.append(tuple(sorted(members)))
    return order


def is_cycle(component: tuple[str, ...], edges: Mapping[str, Collection[str]]) -> bool:
    """Whether ``component`` is a reference cycle (several files, or one referencing itself)."""
    return len(component) > 1 or component[0] in edges.get(component[0], ())
