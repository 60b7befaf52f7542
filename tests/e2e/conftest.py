"""End-to-end tests: the portal served on loopback, driven by Debian's Chromium through Playwright.

Every page of every test is watched: a console error, an uncaught script error, a resource that
fails to load or answers 4xx/5xx, or a request to any host other than the portal's fails the
test at teardown. Each test leaves a full-page screenshot of its last page in
`e2e-screenshots/` (or the folder named by E2E_SCREENSHOTS).
"""

import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "motcua-demo-2025"  # noqa: S105 - the published demo password
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DEFAULT_TIMEOUT_MS = 10_000
# Every Content-Security-Policy violation becomes a console error the guards record, whether or
# not the browser also logs its own "Refused to ..." line.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked "
    + (event.blockedURI || "inline") + " at " + (event.sourceFile || event.documentURI)
    + ":" + event.lineNumber);
});
"""
LOAD_FAILED = "Failed to load resource: the server responded with a status of"


def pytest_collection_modifyitems(config, items):
    """Without Debian's Chromium there is nothing to drive: skip, saying why."""
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: install Debian's chromium package (make test does)"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the e2e tests while they run one after another.

    Package scope, not session: while Playwright's sync API is started an event loop runs in
    the test thread, which the rest of the suite (in random module order) must not inherit.
    With it running, Django refuses ORM calls from this thread unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set, so it is set for exactly that span.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Guards:
    """What went wrong on the pages of one test; checked at its teardown."""

    def __init__(self, portal_netloc: str) -> None:
        self.portal_netloc = portal_netloc
        self.problems: list[str] = []
        self.outside: list[str] = []
        self.blocked: set[str] = set()
        self.allowed: list[re.Pattern] = []
        self.pages: list = []
        self.documents_4xx: set[str] = set()

    def allow(self, pattern: str) -> None:
        """Accept a problem whose description matches `pattern` (a test that expects it)."""
        self.allowed.append(re.compile(pattern))

    def record(self, problem: str) -> None:
        self.problems.append(problem)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    # --- the listeners -------------------------------------------------------------------
    def route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.portal_netloc:
            self.outside.append(f"{route.request.method} {url}")
            self.blocked.add(url)
            route.abort("blockedbyclient")
            return
        route.continue_()

    def watch(self, page) -> None:
        self.pages.append(page)
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.record(f"script error on {page.url}: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _console(self, page, msg) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url") or page.url
        if where in self.documents_4xx and msg.text.startswith(LOAD_FAILED):
            return  # a page answering 400/403/404 on purpose: the test checks the page itself
        self.record(f"console error on {where}: {msg.text}")

    def _request_failed(self, request) -> None:
        if request.url in self.blocked:
            return  # recorded as a request leaving the portal
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the page moving on (a favicon still loading), not a failure
        self.record(f"request failed: {request.method} {request.url} ({request.failure})")

    def _response(self, response) -> None:
        request = response.request
        if response.status < 400:
            return
        if request.is_navigation_request():
            self.documents_4xx.add(response.url)
        else:
            self.record(f"{response.status} for a sub-resource: {request.method} {response.url}")


def _screenshot_name(node) -> str:
    module = Path(str(node.fspath)).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{module}.{node.name}").strip("-") + ".png"


@pytest.fixture
def guards(live_server):
    return Guards(urlsplit(live_server.url).netloc)


@pytest.fixture
def new_context(browser, live_server, guards, request):
    """Make a browser context ("desktop" 1280x900 or "phone" 390x844 with touch), every page
    of it guarded; pages open addresses relative to the live server."""
    contexts = []

    def make(kind: str = "desktop", **options):
        device = {"desktop": DESKTOP, "phone": PHONE}[kind]
        context = browser.new_context(
            base_url=live_server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
            accept_downloads=True, **{**device, **options},
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.route("**/*", guards.route)
        context.add_init_script(CSP_LISTENER)
        context.on("page", guards.watch)
        contexts.append(context)
        return context

    yield make

    try:
        _save_screenshot(guards, request.node)
    finally:
        for context in contexts:
            context.close()
    problems = guards.unexpected()
    if guards.outside:
        problems.append("requests leaving the portal (blocked): " + "; ".join(guards.outside))
    if problems:
        pytest.fail("page problems:\n  " + "\n  ".join(problems), pytrace=False)


def _save_screenshot(guards: Guards, node) -> None:
    open_pages = [p for p in guards.pages if not p.is_closed() and p.url != "about:blank"]
    if not open_pages:
        return
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or REPO_ROOT / "e2e-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    open_pages[-1].screenshot(path=str(folder / _screenshot_name(node)), full_page=True)


@pytest.fixture
def page(new_context):
    """A desktop page of its own context."""
    return new_context("desktop").new_page()


@pytest.fixture
def phone_page(new_context):
    """A phone page (390x844, touch) of its own context."""
    return new_context("phone").new_page()


@pytest.fixture
def demo_users(live_server):
    """The demo accounts (password motcua-demo-2025), by username."""
    from dossiers.services.demo import demo_accounts_ensure

    return demo_accounts_ensure()


@pytest.fixture
def portal_world(live_server, settings, demo_users):
    """The bundled catalog, the demo accounts, demo signing on, links back to this server and
    the fake payment platform (no network); yields the platform."""
    from dossiers.services.catalog import catalog_load
    from integrations.payment_providers.fake import FakePaymentProvider
    from integrations.registry import override_payment_provider

    settings.DEMO_SIGNING = True
    settings.PORTAL_BASE_URL = live_server.url
    catalog_load()
    with override_payment_provider(FakePaymentProvider()) as provider:
        yield provider


def off_loop(fn, /, *args, **kwargs):
    """Run `fn` in a thread of its own and return its result.

    Playwright's event loop runs in the test thread, and pyHanko (signing, verifying) starts
    its own with asyncio.run(), which refuses to run inside another: seeding that signs or
    verifies goes through here."""
    from django.db import connections

    outcome = {}

    def run():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc
        finally:
            connections.close_all()

    worker = threading.Thread(target=run, name="e2e-seed")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


SECOND_FACTOR_PATHS = ("/dang-nhap/ma-xac-thuc/", "/dang-nhap/thiet-lap-xac-thuc/")


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through /dang-nhap/ and wait until the portal has sent the user on. Staff then
    type the code of their authenticator app (computed here from their device's key), or,
    without an app yet, enrol one and go past the recovery codes."""
    page.goto("/dang-nhap/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if urlsplit(page.url).path in SECOND_FACTOR_PATHS:
        second_factor_step(page, username)
    if urlsplit(page.url).path.startswith("/dang-nhap/"):
        raise AssertionError(f"{username} could not sign in: {page.locator('main').inner_text()}")


def second_factor_step(page, username: str) -> None:
    """The code page (or the enrolment and its recovery codes), with the code the user's app
    would show now."""
    enrolling = urlsplit(page.url).path == SECOND_FACTOR_PATHS[1]
    page.get_by_label("Mã xác thực").fill(off_loop(_current_code, username, enrolling))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    if enrolling:
        with page.expect_navigation():
            page.get_by_role("link", name="Tôi đã lưu các mã, tiếp tục").click()


def _current_code(username: str, enrolling: bool) -> str:
    """The app's code now; when this user already signed in during this 30-second step (a
    code is accepted once), the next step's code, which the device's tolerance accepts."""
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(
        user__username=username, confirmed=not enrolling).order_by("-pk").first()
    while True:
        device.refresh_from_db()
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        ahead = device.last_t + 1 - totp.t()
        if ahead <= device.tolerance:
            totp.time = time.time() + device.step * max(0, ahead)
            return f"{totp.token():0{device.digits}d}"
        time.sleep(1)


def sign_out(page) -> None:
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name=re.compile("Đăng xuất|Log out")).click()


def assert_no_sideways_scroll(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], (
        f"{page.url} scrolls sideways: content {widths[0]} px wide in a {widths[1]} px window"
    )


def path_of(page) -> str:
    return urlsplit(page.url).path


# The smallest PNG the content sniffer recognises.
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
