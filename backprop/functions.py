"""Section 1, task 1: computational graphs, forward and backward by hand.

Every function takes plain Python floats and returns ``(output, grads)``, where ``grads`` is a tuple holding the
derivative of the output with respect to each input, in the order of the inputs. Use only the ``math`` module:
compute the forward pass one node at a time (keep every intermediate value), then walk the graph backwards,
multiplying each node's local derivative by the upstream gradient.

Check your work from this folder with ``python backprop.py`` (see ``python backprop.py --help``).
"""
import math


def f1(x1, w1, x2, w2, b, y):
    """(Optional) Squared error of a linear model with two inputs.

    Graph: y_hat = x1*w1 + x2*w2 + b;  d = y_hat - y;  L = d**2

    Args:
        x1, w1, x2, w2, b, y: floats.
    Returns:
        L: float, the loss.
        grads: tuple of 6 floats (dL/dx1, dL/dw1, dL/dx2, dL/dw2, dL/db, dL/dy).
    """
    L, grads = None, None
    # BEGIN SOLUTION
    # forward
    a1 = x1 * w1
    a2 = x2 * w2
    y_hat = a1 + a2 + b
    d = y_hat - y
    L = d ** 2
    # backward: each node's local derivative times the upstream gradient
    gd = 2 * d
    gy_hat = gd
    gy = -gd
    ga1 = gy_hat
    ga2 = gy_hat
    gb = gy_hat
    gx1, gw1 = ga1 * w1, ga1 * x1
    gx2, gw2 = ga2 * w2, ga2 * x2
    grads = (gx1, gw1, gx2, gw2, gb, gy)
    # END SOLUTION
    return L, grads


def f2(x):
    """(Optional) tanh built from exponentials.

    Graph: d = 2*x;  e = exp(d);  t = e - 1;  b = e + 1;  y = t / b

    Args:
        x: float.
    Returns:
        y: float, tanh(x).
        grads: tuple of 1 float (dy/dx,).
    """
    y, grads = None, None
    # BEGIN SOLUTION
    # forward
    d = 2 * x
    e = math.exp(d)
    t = e - 1
    b = e + 1
    y = t / b
    # backward
    gt = 1 / b
    gb = -t / b ** 2
    ge = gt + gb  # e feeds both t and b: the two paths add up
    gd = ge * e
    gx = gd * 2
    grads = (gx,)
    # END SOLUTION
    return y, grads


def f3(s1, s2, y):
    """Softmax cross-entropy loss of two scores (required, 10 points).

    Graph: e1 = exp(s1);  e2 = exp(s2);  d = e1 + e2;  p1 = e1/d;  p2 = e2/d;
           p = p1 if y == 1 else p2;  L = -log(p)

    Args:
        s1, s2: floats, the scores of class 1 and class 2.
        y: int, the true class, 1 or 2 (no gradient is returned for it).
    Returns:
        L: float, the loss.
        grads: tuple of 2 floats (dL/ds1, dL/ds2).
    """
    assert y in (1, 2), f"y must be 1 or 2, got {y!r}"
    L, grads = None, None
    # BEGIN SOLUTION
    # forward
    e1 = math.exp(s1)
    e2 = math.exp(s2)
    d = e1 + e2
    p1 = e1 / d
    p2 = e2 / d
    p = p1 if y == 1 else p2
    L = -math.log(p)
    # backward
    gp = -1 / p
    gp1 = gp if y == 1 else 0.0
    gp2 = gp if y == 2 else 0.0
    # p1 = e1 / d and p2 = e2 / d: each depends on its own e directly and on both through d
    gd = -(gp1 * e1 + gp2 * e2) / d ** 2
    ge1 = gp1 / d + gd
    ge2 = gp2 / d + gd
    gs1 = ge1 * e1
    gs2 = ge2 * e2
    grads = (gs1, gs2)
    # END SOLUTION
    return L, grads


def f3_y1(s1, s2):
    """f3 with the true class y = 1 (given)."""
    return f3(s1, s2, 1)


def f3_y2(s1, s2):
    """f3 with the true class y = 2 (given)."""
    return f3(s1, s2, 2)


# BEGIN SOLUTION f4
def f4(a, b, c, d):
    """(Optional) Your own graph with at least 5 operators. This example: a tiny neuron with a sigmoid and a log.

    Graph: u = a*b;  v = u + c;  s = 1 / (1 + exp(-v));  q = s * d;  r = q**2;  L = log(1 + r)

    Args:
        a, b, c, d: floats.
    Returns:
        L: float.
        grads: tuple of 4 floats (dL/da, dL/db, dL/dc, dL/dd).
    """
    # forward
    u = a * b
    v = u + c
    s = 1 / (1 + math.exp(-v))
    q = s * d
    r = q ** 2
    L = math.log(1 + r)
    # backward
    gr = 1 / (1 + r)
    gq = gr * 2 * q
    gs = gq * d
    gd = gq * s
    gv = gs * s * (1 - s)
    gu = gv
    gc = gv
    ga = gu * b
    gb = gu * a
    return L, (ga, gb, gc, gd)
# END SOLUTION
# BEGIN PROMPT
# def f4():
#     """(Optional) Your own graph with at least 5 operators.
#
#     Replace this stub: give f4 one argument per input of your graph, e.g. ``def f4(a, b, c, d):``, and return
#     ``(L, grads)`` with ``grads`` a tuple of dL/d(input) in the order of the arguments. While f4 takes no
#     arguments, ``backprop.py`` skips its gradient check.
#
#     Returns:
#         L: float (None in this stub).
#         grads: tuple of floats, one per argument (None in this stub).
#     """
#     return None, None
# END PROMPT
