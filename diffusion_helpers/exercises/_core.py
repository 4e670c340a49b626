"""What every check shares: run the student's function safely, compare tensors, report.

``_call`` runs the answer under watch (``sys.settrace``): it notices a call into the package's own
code (the answer would then only check the package against itself) and stops an answer that
runs past TIME_LIMIT_SECONDS (an endless loop), so that a check never hangs and never says
"Correct!" to the reference. It also notices an answer that changes its inputs in place.
"""
import inspect
import os
import sys
import time

import torch

TIME_LIMIT_SECONDS = 10.0
_EXERCISES_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_DIR = os.path.dirname(_EXERCISES_DIR)
# code a student's answer may call: the models it is given (a forward pass is not the answer)
_ALLOWED = (_EXERCISES_DIR, os.path.join(_PACKAGE_DIR, "models.py"))


def _report(ok, message):
    print(("✅ Correct! " if ok else "❌ Not yet: ") + message)
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


class _Watch:
    """A trace function: records the first call into the package (outside ``_ALLOWED``) and raises
    _TimeUp at the first line run after the deadline."""

    def __init__(self, seconds):
        self.deadline, self.package_call = time.monotonic() + seconds, None

    def __call__(self, frame, event, arg):
        if time.monotonic() > self.deadline:
            raise _TimeUp
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename.startswith(_PACKAGE_DIR + os.sep) and not filename.startswith(_ALLOWED):
            if event == "call" and self.package_call is None:
                module = os.path.relpath(filename, _PACKAGE_DIR).replace(os.sep, ".")[:-3]
                name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)  # Python 3.11+: Class.method
                self.package_call = f"{name} (diffusion_helpers.{module})"
            return None  # no line events inside the package itself
        return self


def _argument_names(function, count):
    try:
        names = [p.name for p in inspect.signature(function).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(count)]


def _call(function, *args):
    """Run the student's function on ``args`` under watch; return (tensor (float64, CPU) or None,
    error message or None)."""
    if not callable(function):
        return None, (f"pass your function itself, e.g. check(my_function), not {type(function).__name__}: "
                      "leave out the parentheses and arguments")
    if (getattr(function, "__module__", None) or "").startswith("diffusion_helpers"):
        return None, (f"that is the package's own {getattr(function, '__name__', 'function')}: "
                      "write your own function and pass it to the check")
    before = [arg.clone() if isinstance(arg, torch.Tensor) else None for arg in args]
    watch, old_trace = _Watch(TIME_LIMIT_SECONDS), sys.gettrace()
    sys.settrace(watch)
    try:
        result = function(*args)
    except _TimeUp:
        return None, (f"your function ran for more than {TIME_LIMIT_SECONDS:g} seconds and was stopped: an endless "
                      "loop? The answer needs no loop over pixels or timesteps, only tensor operations.")
    except (Exception, SystemExit) as error:  # the student's code may fail in any way: report it, don't crash
        return None, f"your function raised {type(error).__name__}: {error}"
    finally:
        sys.settrace(old_trace)
    if watch.package_call is not None:
        return None, (f"your function calls the package's own {watch.package_call}: the check compares with "
                      "that, so it would prove nothing. Write the formula yourself with torch and the arguments given.")
    for name, arg, copy in zip(_argument_names(function, len(args)), args, before):
        if copy is not None and not (arg.shape == copy.shape and torch.equal(arg, copy)):
            return None, (f"your function changed its input `{name}` in place (an operation ending in _ such as "
                          f"mul_, or `{name} += ...`, `{name}[...] = ...`): the caller's tensor is changed too. "
                          "Compute a new tensor instead.")
    return _as_answer(result)


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


def compare(got, expected, name="value", index_name="t", rtol=1e-4, atol=1e-7, hints=()):
    """Compare two tensors; return (ok, message). ``hints`` is a list of (tensor, text): when the
    student's answer equals one of those tensors, the text says which mistake that is."""
    expected = expected.double()
    if tuple(got.shape) != tuple(expected.shape):
        return False, f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    bad = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return True, ""
    for wrong, text in hints:
        if wrong.shape == got.shape and torch.allclose(got, wrong.double(), rtol=rtol, atol=atol):
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
