"""A long recorded graph is kept out of the cyclic collector's walks, and the collector is
given back exactly as it was once the graph is done with (core/_gcscope.py)."""
import gc
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import _gcscope

pytestmark = pytest.mark.skipif(not _gcscope._SUPPORTED, reason="needs CPython's gc.freeze (GIL build)")

STEP = 64


@pytest.fixture(autouse=True)
def small_step(monkeypatch):
    """Freeze at depth 64, then every 16 levels, so that short chains exercise the mechanism."""
    if gc.get_freeze_count() > _gcscope._baseline:  # (CPython 3.12 starts with a few frozen)
        pytest.skip("something else froze objects")
    monkeypatch.setattr(_gcscope, "FIRST", STEP)
    monkeypatch.setattr(_gcscope, "STEP", STEP // 4)
    monkeypatch.setattr(_gcscope, "limit", STEP)
    yield
    _gcscope.release()
    assert gc.get_freeze_count() <= _gcscope._baseline  # no freeze of ours is left


def collector_state():
    """What the program can see of the collector; of the freeze count, whether anything beyond
    CPython's own start-up objects (3.12) is frozen."""
    return gc.isenabled(), gc.get_threshold(), gc.get_freeze_count() > _gcscope._baseline, list(gc.callbacks)


def chain(n_ops, x=None):
    y = x if x is not None else cr.Variable(np.ones(4))
    for _ in range(n_ops // 2):
        y = y * 1.0001 + 0.0001
    return y


class Cycle:
    def __init__(self):
        self.me = self


def test_short_graph_changes_nothing():
    before = collector_state()
    y = chain(STEP - 2)
    assert not _gcscope.frozen and collector_state() == before
    y.sum().backward()
    assert collector_state() == before


def test_backward_gives_the_collector_back():
    before = collector_state()
    x = cr.Variable(np.ones(4))
    y = chain(10 * STEP, x)
    assert _gcscope.frozen and gc.get_freeze_count() > 0
    y.sum().backward()
    assert not _gcscope.frozen
    assert collector_state() == before
    np.testing.assert_allclose(x.grad.data, 1.0001 ** (5 * STEP))


def test_freeing_the_graph_gives_the_collector_back():
    before = collector_state()
    y = chain(10 * STEP)
    assert _gcscope.frozen
    del y  # no backward: the graph's own release
    assert not _gcscope.frozen
    assert collector_state() == before


def test_extending_a_graph_after_backward_freezes_again_and_releases():
    before = collector_state()
    y = chain(4 * STEP)
    y.sum().backward()
    assert not _gcscope.frozen
    z = chain(4 * STEP, y)
    assert _gcscope.frozen
    del y, z
    assert collector_state() == before


def test_only_the_last_levels_stay_in_the_collectors_walks():
    """What a full collection walks stays bounded while the chain grows (the old code walked
    all of it: about 5 tracked objects per op)."""
    gc.collect()
    walked = []

    def on_collect(phase, info):
        if phase == "start" and info["generation"] == 2:
            walked.append(len(gc.get_objects(2)))

    gc.callbacks.append(on_collect)
    try:
        y = chain(400 * STEP)
        in_view = len(gc.get_objects())  # what a full collection would walk now
    finally:
        gc.callbacks.remove(on_collect)
    bound = 20 * STEP  # the levels since the last freeze and the test's own objects
    assert in_view < bound, (in_view, bound)  # the graph alone holds 5 * 400 * STEP
    assert len(walked) <= 1 and max(walked, default=0) < bound, walked
    del y


def test_user_cycles_are_still_collected():
    old = Cycle()
    old_ref = weakref.ref(old)
    y = chain(4 * STEP)  # `old` is frozen with everything else
    del old
    young = Cycle()
    young_ref = weakref.ref(young)
    del young
    assert _gcscope.frozen
    gc.collect(1)
    assert young_ref() is None  # made after the last freeze: collected as usual
    assert _gcscope.frozen
    gc.collect()  # a full collection releases first, then walks everything
    assert not _gcscope.frozen
    assert old_ref() is None
    del y


def test_a_graph_held_by_dropped_garbage_is_freed_by_a_full_collection():
    """Frozen garbage that holds the graph would keep the freeze (and itself) alive for ever;
    the next full collection releases and frees both."""
    before = collector_state()
    holder = Cycle()
    holder.y = chain(4 * STEP)
    graph_ref = weakref.ref(holder.y.creator)
    chain(4 * STEP, holder.y)  # the cycle is frozen now
    del holder
    assert _gcscope.frozen and graph_ref() is not None
    gc.collect()
    assert graph_ref() is None
    assert collector_state() == before


def test_a_callback_added_after_ours_keeps_getting_each_call():
    calls = []

    def theirs(phase, info):
        if info["generation"] == 2:
            calls.append(phase)

    y = chain(4 * STEP)
    gc.callbacks.append(theirs)  # after chainrule's own
    try:
        gc.collect()
        assert calls == ["start", "stop"]
        assert not _gcscope.frozen
        assert _gcscope.active  # its entry stays, doing nothing, until a release outside a callback
        y.sum().backward()
        assert gc.callbacks[-1] is theirs and _gcscope._on_collect not in gc.callbacks
        assert not _gcscope.active
        del y
    finally:
        gc.callbacks.remove(theirs)


def test_a_programs_own_freeze_is_left_alone():
    gc.freeze()
    try:
        own = gc.get_freeze_count()
        assert own > 0
        y = chain(10 * STEP)
        assert not _gcscope.frozen
        assert gc.get_freeze_count() == own
        y.sum().backward()
        del y
        assert gc.get_freeze_count() == own
    finally:
        gc.unfreeze()


def test_a_disabled_collector_is_left_alone():
    before = gc.get_freeze_count()
    gc.disable()
    try:
        y = chain(10 * STEP)
        assert not _gcscope.frozen and gc.get_freeze_count() == before
        del y
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_second_order_through_a_long_chain():
    before = collector_state()
    x = cr.Variable(np.full(3, 0.5))
    y = x
    for _ in range(2 * STEP):
        y = y * x  # x ** (2 * STEP + 1), depth 2 * STEP
    (g,) = cr.gradients(y.sum(), x, create_graph=True)
    assert not _gcscope.frozen
    (gg,) = cr.gradients(g.sum(), x)
    n = 2 * STEP + 1
    np.testing.assert_allclose(gg.data, n * (n - 1) * 0.5 ** (n - 2))
    del y, g, gg
    assert collector_state() == before


def test_threads_building_chains_at_once():
    before = collector_state()
    errors = []

    def work():
        try:
            for _ in range(3):
                x = cr.Variable(np.ones(4))
                chain(6 * STEP, x).sum().backward()
                np.testing.assert_allclose(x.grad.data, 1.0001 ** (3 * STEP))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not _gcscope.frozen
    assert collector_state() == before
