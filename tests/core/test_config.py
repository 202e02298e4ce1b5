"""no_grad / enable_grad / test_mode: context managers and decorators on contextvars."""
import threading

import numpy as np

import chainrule as cr


def test_no_grad_records_nothing_and_restores():
    x = cr.variable(1.0)
    with cr.no_grad():
        y = x * 2.0
        assert not cr.is_grad_enabled()
    assert y.creator is None
    assert cr.is_grad_enabled()
    assert (x * 2.0).creator is not None


def test_nesting_restores_previous_state():
    with cr.no_grad():
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            with cr.no_grad():
                assert not cr.is_grad_enabled()
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_decorators():
    @cr.no_grad()
    def infer(x):
        return x * 2.0, cr.is_grad_enabled()

    @cr.test_mode()
    def evaluate():
        return cr.is_train()

    y, enabled = infer(cr.variable(1.0))
    assert y.creator is None and not enabled
    assert cr.is_grad_enabled()
    assert evaluate() is False and cr.is_train() is True


def test_same_switch_object_can_be_reentered():
    s = cr.no_grad()
    with s:
        with s:
            assert not cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_restores_after_exception():
    try:
        with cr.no_grad():
            raise RuntimeError
    except RuntimeError:
        pass
    assert cr.is_grad_enabled()


def test_threads_do_not_share_state():
    seen = []
    started = threading.Event()
    release = threading.Event()

    def worker():
        started.wait()
        seen.append(cr.is_grad_enabled())
        release.set()

    t = threading.Thread(target=worker)
    t.start()
    with cr.no_grad():
        started.set()
        release.wait(5)
    t.join()
    assert seen == [True]
    assert np.isfinite(1.0)
