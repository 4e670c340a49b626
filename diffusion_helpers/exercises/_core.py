"""What every check shares: run the student's function safely, compare tensors, report.

``_call`` runs the answer under watch: a time limit stops an answer that runs past
TIME_LIMIT_SECONDS (an endless loop), and a trace (``sys.settrace``) notices a call into the
package's own code (the answer would then only check the package against itself), so that a
check never hangs and never says "Correct!" to the reference. It also notices an answer that
changes its inputs in place.

The time limit (``_TimeLimit``) does not depend on the trace's line events (a one-line
``while True: pass`` makes none): it raises inside the answer from outside, between two of
its bytecodes. In the main thread where the system has interval timers (Linux and macOS: every
Jupyter kernel, Colab included, runs its cells there) it is a SIGALRM timer; elsewhere (Windows,
or a check run from another thread) a watchdog thread raises it with CPython's
PyThreadState_SetAsyncExc. Neither can cut one long C call short (a huge torch operation): the
answer is stopped when that call returns. Where neither exists (not CPython), there is no limit.

Grading (tools/grade.py) learns each check's result from a log rather than from printed text:
with the environment variable DIFFUSION_CHECK_LOG naming a file, every check (each public
``check_*``, decorated with ``logged_check``) appends one JSON line to it as it reports,
``{"exercise": "q_sample", "passed": false, "message": "..."}`` (the exercise: the check's name
without ``check_``; the message: the text printed after "Correct!" or "Not yet:"). Without the
variable nothing is written.
"""
import ctypes
import functools
import inspect
import json
import os
import signal
import sys
import threading
import time

import torch

TIME_LIMIT_SECONDS = 10.0
RETRY_SECONDS = 0.25  # after the limit, raised again this often until it leaves the answer
_EXERCISES_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_DIR = os.path.dirname(_EXERCISES_DIR)
# code a student's answer may call: the models it is given (a forward pass is not the answer)
_ALLOWED = (_EXERCISES_DIR, os.path.join(_PACKAGE_DIR, "models.py"))


CHECK_LOG_VARIABLE = "DIFFUSION_CHECK_LOG"  # names the JSON-lines file every check appends its result to
_running = []  # the exercise whose check runs now (a stack: logged_check pushes, and pops when it returns)


def logged_check(check):
    """Decorator of a public check ``check_<exercise>``: while it runs, ``_report`` knows which
    exercise it reports on and logs it (see the module's docstring)."""
    if not check.__name__.startswith("check_"):
        raise ValueError(f"logged_check decorates functions named check_<exercise>, not {check.__name__!r}")
    exercise = check.__name__[len("check_"):]

    @functools.wraps(check)
    def run(*args, **kwargs):
        _running.append(exercise)
        try:
            return check(*args, **kwargs)
        finally:
            _running.pop()
    return run


def _report(ok, message):
    print(("✅ Correct! " if ok else "❌ Not yet: ") + message)
    path = os.environ.get(CHECK_LOG_VARIABLE)
    if path and _running:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"exercise": _running[-1], "passed": bool(ok), "message": message}) + "\n")
    return ok


def _not_yet(message, tried):
    """Report a wrong answer, saying what the check gave the function (``tried``)."""
    return _report(False, f"{message}\n   (The check called your function with {tried}.)")


def broadcast_shape(data_shape):
    """How alphas_cumprod[t] (B,) must be reshaped to meet data (B, *data_shape): "(B, 1, 1, 1)"."""
    return "(B" + ", 1" * len(data_shape) + ")"


class _TimeUp(BaseException):
    """Raised inside an answer that runs too long (BaseException: a student's `except Exception`
    inside the loop cannot swallow it)."""


class _TimeLimit:
    """``start()`` arms it: ``seconds`` later it raises _TimeUp in this thread, and again every
    RETRY_SECONDS while ``active`` (an answer that catches BaseException cannot keep it). Set
    ``active = False`` (a plain store, so nothing can be raised before it), then ``stop()`` until
    it returns without a _TimeUp.
    A SIGALRM timer in the main thread where the system has one (an outer timer, e.g. a test
    runner's, gets what is left of it back), else a watchdog thread (PyThreadState_SetAsyncExc);
    see the module's docstring."""

    def __init__(self, seconds):
        self.seconds, self.active, self._disarm = seconds, False, None

    def start(self):
        self.active = True
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self._start_alarm()
        elif hasattr(ctypes, "pythonapi") and hasattr(ctypes.pythonapi, "PyThreadState_SetAsyncExc"):
            self._start_watchdog()

    def stop(self):
        """Disarm, after ``active = False``. A _TimeUp raised just before that, still pending, is
        delivered at a call in here (even at the call of stop itself): call it in a loop that
        catches _TimeUp until it returns (see ``_call``); stop may run more than once."""
        if self._disarm is not None:
            self._disarm()
        _take_pending()

    def _start_alarm(self):
        def on_alarm(signum, frame):
            if self.active:
                raise _TimeUp
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        started, outer = time.monotonic(), signal.getitimer(signal.ITIMER_REAL)

        def disarm():
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if old_handler is None else old_handler)
            if outer[0]:  # an outer timer was running: it gets back what is left of it
                signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - started), 1e-3), outer[1])
        self._disarm = disarm  # known before the timer runs: stop() always finds it
        signal.setitimer(signal.ITIMER_REAL, self.seconds, RETRY_SECONDS)

    def _start_watchdog(self):
        target, done = threading.get_ident(), threading.Event()
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc

        def watch():
            if done.wait(self.seconds):
                return
            while self.active:
                set_async_exc(ctypes.c_ulong(target), ctypes.py_object(_TimeUp))
                if done.wait(RETRY_SECONDS):
                    return
        watchdog = threading.Thread(target=watch, name="exercise time limit", daemon=True)

        def disarm():  # after the join nothing new is raised; withdrawing a pending one (NULL) would
            done.set()  # leave CPython 3.11's eval breaker set for good, so stop() takes it instead
            watchdog.join()
        self._disarm = disarm
        watchdog.start()


def _take_pending():
    """Nothing: calling a Python function is where CPython delivers a pending signal handler's or
    another thread's exception."""


class _Watch:
    """A trace function: records the first call into the package (outside ``_ALLOWED``). It
    returns no local trace (no line events): the time limit is ``_TimeLimit``'s."""

    def __init__(self):
        self.package_call = None

    def __call__(self, frame, event, arg):
        filename = os.path.abspath(frame.f_code.co_filename)
        if self.package_call is None and filename.startswith(_PACKAGE_DIR + os.sep) and not filename.startswith(_ALLOWED):
            module = os.path.relpath(filename, _PACKAGE_DIR).replace(os.sep, ".")[:-3]
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)  # Python 3.11+: Class.method
            self.package_call = f"{name} (diffusion_helpers.{module})"
        return None


def _argument_names(function, count):
    try:
        names = [p.name for p in inspect.signature(function).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(count)]


def _call(function, *args, convert=None):
    """Run the student's function on ``args`` under watch; return (tensor (float64, CPU) or None,
    error message or None). ``convert`` turns the return value into (tensor, None) or (None, what
    is wrong with it): ``_as_answer`` (real numbers, float64 on the CPU) unless given."""
    if not callable(function):
        return None, (f"pass your function itself, e.g. check(my_function), not {type(function).__name__}: "
                      "leave out the parentheses and arguments")
    if (getattr(function, "__module__", None) or "").startswith("diffusion_helpers"):
        return None, (f"that is the package's own {getattr(function, '__name__', 'function')}: "
                      "write your own function and pass it to the check")
    before = [arg.clone() if isinstance(arg, torch.Tensor) else None for arg in args]
    limit, watch, old_trace = _TimeLimit(TIME_LIMIT_SECONDS), _Watch(), sys.gettrace()
    result, timed_out, raised = None, False, None
    try:  # the except clauses only store: nothing in them may call, where a second _TimeUp could land
        limit.start()
        sys.settrace(watch)
        result = function(*args)
    except _TimeUp:
        timed_out = True
    except (Exception, SystemExit) as error:  # the student's code may fail in any way: report it, don't crash
        raised = error
    finally:
        limit.active = False  # first, a plain store: from here on nothing raises _TimeUp
        while True:  # but one raised just before may still be pending: stop() takes it
            try:
                limit.stop()
                break
            except _TimeUp:
                pass
        sys.settrace(old_trace)
    if timed_out:
        return None, (f"your function ran for more than {TIME_LIMIT_SECONDS:g} seconds and was stopped: an endless "
                      "loop? The answer needs no loop over pixels or timesteps, only tensor operations.")
    if raised is not None:
        return None, f"your function raised {type(raised).__name__}: {raised}"
    if watch.package_call is not None:
        return None, (f"your function calls the package's own {watch.package_call}: the check compares with "
                      "that, so it would prove nothing. Write the formula yourself with torch and the arguments given.")
    for name, arg, copy in zip(_argument_names(function, len(args)), args, before):
        if copy is not None and not (arg.shape == copy.shape and torch.equal(arg, copy)):
            return None, (f"your function changed its input `{name}` in place (an operation ending in _ such as "
                          f"mul_, or `{name} += ...`, `{name}[...] = ...`): the caller's tensor is changed too. "
                          "Compute a new tensor instead.")
    return (convert or _as_answer)(result)


def _as_answer(result):
    """The student's return value as a float64 CPU tensor, or (None, what is wrong with it)."""
    if result is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(result, tuple):
        return None, f"your function returned a tuple of {len(result)} items: return a single tensor."
    try:
        tensor = torch.as_tensor(result).detach()
    except Exception:
        return None, f"your function returned a {type(result).__name__}, expected a torch.Tensor"
    if tensor.device.type == "meta":
        return None, "your function returned a tensor on the 'meta' device, which holds no values"
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return None, (f"your function returned dtype {tensor.dtype}: the answer holds real numbers; "
                      "did you convert to integers (.long(), //) on the way?")
    tensor = tensor.to("cpu").real.double()  # an answer on the GPU is fine: compare it on the CPU
    bad = ~torch.isfinite(tensor)
    if bad.any():
        first = tuple(int(i) for i in bad.nonzero()[0])
        return None, (f"your function returned NaN or inf at {int(bad.sum())} of {bad.numel()} places (first at "
                      f"index {first}): a square root of a negative number, or a division by zero?")
    return tensor, None


def matching_hint(got, hints, rtol=1e-4, atol=1e-7):
    """The text of the first (tensor, text) in ``hints`` whose tensor the answer equals, or None."""
    for wrong, text in hints:
        if wrong.shape == got.shape and torch.allclose(got, wrong.double(), rtol=rtol, atol=atol):
            return text
    return None


def noise_slip(function, args, noise_index, got, noise_matters=True, given="the `noise` argument"):
    """What a wrong answer does with randomness, or None. Calls the student's function again:
    with the same ``args`` (a different answer means it draws its own random numbers), and, when
    ``noise_matters`` (the right answer changes with it), with ``args[noise_index]`` negated (the
    same answer means it never uses that argument: its own noise drawn with a fixed seed, say).
    ``given`` names what it should use instead."""
    def fresh(arguments):
        return [a.clone() if isinstance(a, torch.Tensor) else a for a in arguments]
    again, _ = _call(function, *fresh(args))
    if again is not None and again.shape == got.shape and not torch.equal(again, got):
        return ("your function gives a different answer each time it is called with the same arguments: it draws "
                f"its own random numbers (torch.randn...). Use {given} that the check passes instead.")
    if noise_matters:
        other = fresh(args)
        other[noise_index] = -other[noise_index]
        moved, _ = _call(function, *other)
        if moved is not None and moved.shape == got.shape and torch.equal(moved, got):
            return ("your function gives the same answer for another `noise`: it does not use the `noise` argument "
                    "(does it draw its own, with a fixed seed?). Use the `noise` that the check passes, so that "
                    "your answer can be compared.")
    return None


def compare(got, expected, name="value", index_name="t", rtol=1e-4, atol=1e-7, hints=()):
    """Compare two tensors; return (ok, message). ``hints`` is a list of (tensor, text): when the
    student's answer equals one of those tensors, the text says which mistake that is."""
    expected = expected.double()
    if tuple(got.shape) != tuple(expected.shape):
        return False, f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    bad = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return True, ""
    text = matching_hint(got, hints, rtol, atol)
    if text is not None:
        return False, text
    first = tuple(int(i) for i in bad.nonzero()[0])
    worst = tuple(int(i) for i in torch.unravel_index((got - expected).abs().argmax(), got.shape))

    def describe(index):
        where = f"{index_name}={index[0]}" if len(index) == 1 else f"index {index}"
        g, e = got[index].item(), expected[index].item()
        return f"at {where} you have {g:.6g}, expected {e:.6g} (off by {abs(g - e):.3g}, {100 * abs(g - e) / max(abs(e), 1e-12):.3g}%)"

    message = f"{name} differs at {int(bad.sum())} of {bad.numel()} places; first {describe(first)}"
    if worst != first:
        message += f"; the largest difference is {describe(worst)}"
    return False, message + "."
