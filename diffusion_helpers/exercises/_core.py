"""What every check shares: run the student's function safely, compare tensors, report."""
import torch


def _report(ok, message):
    print(("✅ Correct! " if ok else "❌ Not yet: ") + message)
    return ok


def _call(function, *args):
    """Run the student's function; return (tensor or None, error message or None)."""
    try:
        result = function(*args)
    except Exception as error:  # the student's code may fail in any way: report it, don't crash
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(result, tuple):
        return None, f"your function returned a tuple of {len(result)} items: return a single tensor."
    try:
        return torch.as_tensor(result, dtype=torch.float64), None
    except Exception:
        return None, f"your function returned a {type(result).__name__}, expected a torch.Tensor"


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
