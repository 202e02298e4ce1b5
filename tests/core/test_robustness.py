"""Deep graphs, freeing of dropped graphs, steady memory over many iterations."""
import gc
import tracemalloc
import weakref

import numpy as np

import chainrule as cr
import chainrule.functions as F


def test_backward_through_100k_ops_has_no_recursion_error():
    x = cr.variable(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a deep chain must not recurse either


def test_dropping_the_output_frees_the_graph():
    gc.disable()
    try:
        x = cr.Variable(np.ones(3))
        h = x * 2.0
        f = weakref.ref(h.creator)
        y = F.sum(h * h)
        g = weakref.ref(y.creator)
        del h, y
        assert f() is None and g() is None  # freed by reference counting: no cycles
    finally:
        gc.enable()


def test_memory_is_steady_over_10000_iterations():
    rng = np.random.default_rng(0)
    w = cr.Variable(rng.standard_normal((4, 3)))
    b = cr.Variable(np.zeros(3))
    x = rng.standard_normal((8, 4))

    def step():
        y = F.tanh(F.matmul(x, w) + b)
        loss = F.sum(y * y)
        w.cleargrad()
        b.cleargrad()
        loss.backward()
        w.data -= 0.001 * w.grad.data
        b.data -= 0.001 * b.grad.data

    for _ in range(200):
        step()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < 256 * 1024, f"memory grew by {after - before} bytes"
