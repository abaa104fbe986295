"""The pickers and the load panel, without a kernel: set traits, click, check state."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import ipywidgets as w
import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox import SandboxOptions
from cronofy_frames.widgets import DataCenterPicker, LoadPanel, TokenPicker
from tests.helpers import tokens_of

SECRET = "at_WIDGET_SENTINEL_0123456789"
REFRESH = "rt_WIDGET_SENTINEL_9876543210"


def widget_state() -> str:
    """Everything ipywidgets would save into a notebook, as text."""
    return json.dumps(w.Widget.get_manager_state(drop_defaults=False), default=str)


SANDBOX: SandboxOptions = {
    "accounts": 12,
    "seed": 31,
    "rate_limit": None,
    "faults": sandbox.Faults(expired=0.5),
}


def test_data_center_picker_offers_the_six_and_a_custom_url() -> None:
    picker = DataCenterPicker()
    labels = [label for label, _ in picker.dropdown.options]
    assert len(labels) == 7
    assert labels[1] == "uk — United Kingdom (api-uk.cronofy.com)"
    assert all(label.replace("—", "-").replace("…", ".").isascii() for label in labels)
    assert picker.value == "us"
    assert picker.url.layout.display == "none"
    picker.dropdown.value = "custom"
    picker.url.value = " http://127.0.0.1:8123 "
    assert picker.url.layout.display == ""
    assert picker.value == "http://127.0.0.1:8123"
    picker.value = "api-de.cronofy.com"
    assert picker.dropdown.value == "de"
    assert picker.value == "de"


def test_adding_a_token_clears_the_password_fields_and_lists_it_masked() -> None:
    picker = TokenPicker()
    picker.access.value, picker.refresh.value = f"Bearer {SECRET}", REFRESH
    picker.label.value = "acme"
    picker.data_center.value = "uk"
    picker.add_button.click()
    assert picker.access.value == ""
    assert picker.refresh.value == ""
    assert [(t.label, t.data_center, t.refresh_token) for t in picker.tokens] == [
        ("acme", "uk", REFRESH)
    ]
    row = picker.listing.options[0][0]
    assert "acme" in row
    assert "uk" in row
    assert "…6789" in row
    assert SECRET not in row
    assert SECRET not in widget_state()
    assert REFRESH not in widget_state()


@pytest.mark.parametrize(
    ("access", "dc", "message"),
    [
        ("", "us", "access token is empty"),
        ("   ", "us", "access token is empty"),
        ("has space inside", "us", "white space"),
        (SECRET, "http://10.0.0.1:80", "nor a loopback sandbox URL"),
    ],
)
def test_bad_input_shows_a_message_not_a_traceback(access: str, dc: str, message: str) -> None:
    picker = TokenPicker()
    picker.access.value = access
    if dc.startswith("http"):
        picker.data_center.dropdown.value, picker.data_center.url.value = "custom", dc
    picker.add_button.click()
    assert message in picker.message.value
    assert not picker.tokens
    assert picker.access.value == ""  # cleared even when refused


def test_duplicate_labels_are_refused_and_remove_works() -> None:
    picker = TokenPicker()
    picker.add_tokens([cf.Token(SECRET, label="a"), cf.Token("other_token_value_1", label="b")])
    assert not picker.add_tokens([cf.Token("third_token_value_2", label="a")])
    assert "(label &#x27;a&#x27;) is already in the list" in picker.message.value  # escaped
    assert "tick Replace" in picker.message.value
    picker.listing.value = ("a",)
    picker.remove_selected.click()
    assert [t.label for t in picker.tokens] == ["b"]
    assert [label for _, label in picker.listing.options] == ["b"]


def upload(picker: TokenPicker, text: str, name: str = "tokens.csv") -> None:
    picker.upload.value = (
        {
            "name": name,
            "type": "text/csv",
            "size": len(text),
            "content": memoryview(text.encode()),
            "last_modified": dt.datetime.now(dt.UTC),
        },
    )


def test_uploaded_csv_is_read_then_dropped_from_widget_state() -> None:
    picker = TokenPicker()
    upload(
        picker, f"\ufefflabel,data_center,access_token,refresh_token\nacme,de,{SECRET},{REFRESH}\n"
    )
    assert [(t.label, t.data_center) for t in picker.tokens] == [("acme", "de")]
    assert picker.upload.value == ()
    assert SECRET not in widget_state()


def test_a_bad_upload_names_the_file_and_row() -> None:
    picker = TokenPicker()
    upload(picker, "label,data_center,access_token\nacme,eu,x_token_value\n", "week.csv")
    assert (
        "week.csv row 2, column data_center: unknown data center &#x27;eu&#x27;"
        in picker.message.value
    )


def test_tokens_from_the_environment() -> None:
    picker = TokenPicker(
        environ={"CRONOFY_ACCESS_TOKEN_ACME": SECRET, "CRONOFY_DATA_CENTER_ACME": "sg"}
    )
    picker.env_button.click()
    assert [(t.label, t.data_center) for t in picker.tokens] == [("acme", "sg")]
    empty = TokenPicker(environ={})
    empty.env_button.click()
    assert "No CRONOFY_ACCESS_TOKEN" in empty.message.value


def test_load_panel_loads_shows_tables_and_exports(sb: sandbox.Sandbox, tmp_path: Path) -> None:
    picker = TokenPicker()
    before = tokens_of(sb)
    picker.add_tokens(before)
    panel = LoadPanel(picker, credentials=sb.credentials_by_url, progress=False)
    panel.load_button.click()
    assert panel.wait() is not None
    assert not panel.load_button.disabled
    assert panel.snapshot is not None
    assert len(panel.snapshot.accounts) == 12
    titles = [panel.tabs.get_title(n) for n in range(6)]
    assert titles == [
        f"Profiles ({len(panel.snapshot.profiles)})",
        "Accounts (12)",
        f"Calendars ({len(panel.snapshot.calendars)})",
        f"Conferencing ({len(panel.snapshot.conferencing)})",
        "Errors (0)",
        "Health (12)",
    ]
    assert "<table" in panel.tables["Profiles"].body.value
    assert "<h4>By account type</h4>" in panel.health.value
    assert "<h4>By access mode</h4>" in panel.health.value
    assert "data:image/png;base64," in panel.health.value  # the plots, inline
    assert panel.summary.value.startswith("<pre>12 tokens (")
    assert "): 12 ok, 0 failed" in panel.summary.value
    refreshed = {t.label for t in picker.tokens} & {
        b.label for b, a in zip(before, picker.tokens, strict=True) if a != b
    }
    assert refreshed  # expired tokens came back refreshed, for the next load
    panel.folder.value = "out"  # relative to the kernel's folder ...
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        panel.csv_button.click()
        csv_said = panel.message.value
        panel.parquet_button.click()
    assert (tmp_path / "out" / "csv" / "profiles.csv").exists()  # one folder per format
    assert (tmp_path / "out" / "parquet" / "profiles.parquet").exists()
    assert f"Wrote 7 files to {tmp_path / 'out' / 'csv'}" in csv_said  # ... said in full
    assert cf.read_snapshot(tmp_path / "out" / "parquet").accounts.shape[0] == 12
    assert all(t.access_token not in widget_state() for t in [*before, *picker.tokens])


def test_load_panel_without_tokens_says_so() -> None:
    panel = LoadPanel(TokenPicker(), progress=False)
    assert panel.load_and_wait() is None
    assert "Add at least one token" in panel.message.value
    assert panel.csv_button.disabled


def test_widgets_display_as_their_widget() -> None:
    picker = TokenPicker()
    bundle = picker._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == picker.widget.model_id


def test_the_panels_plots_never_switch_the_kernels_backend(sb: sandbox.Sandbox) -> None:
    """The panel draws on its own Figure and Agg canvas; a notebook's inline backend
    (here: any non-Agg one) stays, so its own plot cells keep showing plots."""
    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        picker = TokenPicker()
        picker.add_tokens(tokens_of(sb))
        panel = LoadPanel(picker, credentials=sb.credentials_by_url, progress=False)
        assert panel.load_and_wait() is not None
        backend = matplotlib.get_backend()
    finally:
        matplotlib.use(before)
    assert backend == "svg"
    assert panel.health.value.count('src="data:image/png;base64,') == 3


def test_refreshable_counts_tokens_by_where_their_requests_go(
    sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    """Sandbox tokens show their data center's id but refresh with their URL's
    credentials: the summary counts them refreshable once those are given."""
    sb.write_tokens_csv(tmp_path / "tokens.csv")
    picker = TokenPicker()
    picker.add_tokens(cf.tokens_from_csv(tmp_path / "tokens.csv"))
    LoadPanel(picker, credentials=sb.credentials_by_url)
    rows = re.findall(
        r"<tr><td>(\w+)</td><td>([\d,]+)</td><td>([\d,]+)</td><td>([\d,]+)</td></tr>",
        picker.summary.value,
    )
    assert {dc for dc, *_ in rows} <= {"us", "uk", "de", "au", "ca", "sg"}
    assert sum(int(n) for _, n, _, _ in rows) == len(sb.accounts)
    assert all(refreshable == with_refresh for _, _, with_refresh, refreshable in rows)
    assert sum(int(r) for *_, r in rows) == len(sb.accounts)


def test_the_panel_reaches_into_no_part_s_privates() -> None:
    panel_source = (Path(cf.__file__).parent / "panel.py").read_text()
    assert "picker._" not in panel_source
    assert "matplotlib.use" not in panel_source
    views_source = (Path(cf.__file__).parent / "views.py").read_text()
    assert "matplotlib.use" not in views_source
    assert "pyplot" not in views_source
