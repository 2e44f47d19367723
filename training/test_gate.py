"""gate.py's rule: no figure lower, one higher, inside the no-harm bars."""
from gate import verdict

SHIPPED = {
    "heavy per frame": 23.197, "heavy state carried": 23.189, "mild per frame": 26.639, "mild state carried": 26.632,
    "soft per frame": 32.766, "soft state carried": 32.918, "demo whole": 38.61, "demo regions": 38.63,
    "sharp clip": 63.58, "photos": 29.18, "photos worst": -7.79, "sharp shift": 0.01,
}


def test_a_candidate_higher_on_one_figure_and_equal_elsewhere_passes():
    passes, lines = verdict({**SHIPPED, "demo regions": 38.71}, SHIPPED)
    assert passes
    assert lines[-1].startswith("passes")


def test_one_figure_lower_fails_whatever_it_gains_elsewhere():
    candidate = {**SHIPPED, "demo regions": 38.71, "sharp clip": 65.03, "heavy per frame": 23.173}
    passes, lines = verdict(candidate, SHIPPED)
    assert not passes
    assert lines[-1] == "does not pass: lower on heavy per frame"


def test_the_same_figures_do_not_pass():
    passes, lines = verdict(dict(SHIPPED), SHIPPED)
    assert not passes
    assert lines[-1] == "does not pass: no figure higher"


def test_the_no_harm_bars_hold_even_against_a_worse_shipped_model():
    worse = {**SHIPPED, "sharp clip": 39.6, "sharp shift": 1.0}
    passes, lines = verdict({**worse, "sharp clip": 41.0, "demo whole": 38.7, "sharp shift": 0.3}, worse)
    assert not passes
    assert lines[-1] == "does not pass: the sharp clip under 42.0 dB; a channel shifted over 0.25 levels"
