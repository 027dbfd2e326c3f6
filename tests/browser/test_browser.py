#!/usr/bin/python3
"""Headless Chromium against corio's servers: clients corio did not write.

    test_browser.py app PATH/TO/browser_app
    test_browser.py chat PATH/TO/17_chat_server

app (tests/browser/browser_app.cpp, a corio::web app):
- the browser's EventSource reads SSE events (type, data, id) and closing it
  cancels the server's generator (the app counts it in /stats);
- the browser's WebSocket (with its permessage-deflate offer) gets a text and
  a binary message echoed and a clean close 1000;
- /docs renders the OpenAPI document fetched from /openapi.json.

chat (examples/17_chat_server.cpp): the chat page in two tabs, each answering
the page's name prompt; what one tab sends shows in the other, and the join
and the leave are announced.

Needs chromium, chromium-driver and python3-selenium (Debian): without them
the test prints CORIO_SKIPPED and CTest reports it skipped.
"""
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request


def skip(why):
    print(f"CORIO_SKIPPED: {why}")
    sys.exit(0)


def fail(why):
    print(f"FAILED: {why}")
    sys.exit(1)


def start_browser():
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip("python3-selenium not installed: apt-get install python3-selenium")
    browser = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        skip("chromium not installed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(driver_path), options=options)
    except WebDriverException as error:
        # The machine cannot run the browser at all (no /dev/shm, a kernel
        # without the namespaces it wants, ...): nothing of corio was tested.
        first_line = (error.msg or str(error)).strip().splitlines()[0]
        skip(f"chromium is installed but does not start here: {first_line}")


def check_app(driver, base):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(driver, 30)
    driver.get(base + "/")
    wait.until(lambda d: d.find_element(By.ID, "ws").text != "waiting"
               or d.find_element(By.ID, "sse").text.startswith("error"))
    sse = driver.find_element(By.ID, "sse").text
    ws = driver.find_element(By.ID, "ws").text
    print(f"sse: {sse}")
    print(f"ws:  {ws}")
    if sse != "n=0#0,n=1#1,n=2#2":
        fail(f"EventSource saw {sse!r}")
    if not ws.startswith("echo: hello browser|bin:1.2.3 close 1000"):
        fail(f"WebSocket saw {ws!r}")
    if "permessage-deflate" not in ws:
        fail(f"the browser's deflate offer was not taken: {ws!r}")

    cancelled = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/stats", timeout=5) as r:
            cancelled = json.load(r)["events_cancelled"]
        if cancelled >= 1:
            break
        time.sleep(0.1)
    print(f"event streams cancelled by their client: {cancelled}")
    if cancelled < 1:
        fail("closing the EventSource did not cancel the server's generator")

    driver.get(base + "/docs")
    wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(("OpenAPI", "Could not")))
    status = driver.find_element(By.ID, "status").text
    title = driver.find_element(By.ID, "title").text
    operations = driver.find_element(By.ID, "ops").text
    print(f"docs: {title} / {status}")
    if not status.startswith("OpenAPI 3.1.0:"):
        fail(f"/docs status {status!r}")
    if title != "corio browser check 1.0" or "/items/{item_id}" not in operations:
        fail(f"/docs did not render the routes: {title!r} {operations[:200]!r}")


def check_chat(driver, base):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(driver, 30)

    def join(name):
        driver.get(base + "/")
        wait.until(expected_conditions.alert_is_present())
        prompt = driver.switch_to.alert
        prompt.send_keys(name)
        prompt.accept()

    def log_text():
        return driver.find_element(By.ID, "log").text

    join("alice")
    alice = driver.current_window_handle
    wait.until(lambda d: "* alice joined" in log_text())
    driver.switch_to.new_window("tab")
    bob = driver.current_window_handle
    join("bob")
    wait.until(lambda d: "* bob joined" in log_text())
    field = driver.find_element(By.ID, "text")
    field.send_keys("hello from bob", Keys.ENTER)
    wait.until(lambda d: "bob: hello from bob" in log_text())

    driver.switch_to.window(alice)
    wait.until(lambda d: "bob: hello from bob" in log_text())
    print("alice's tab:", log_text().replace("\n", " | "))
    driver.find_element(By.ID, "text").send_keys("hi bob", Keys.ENTER)
    driver.switch_to.window(bob)
    wait.until(lambda d: "alice: hi bob" in log_text())
    print("bob's tab:  ", log_text().replace("\n", " | "))
    driver.close()  # bob leaves
    driver.switch_to.window(alice)
    wait.until(lambda d: "* bob left" in log_text())


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("app", "chat"):
        fail("usage: test_browser.py app|chat PATH/TO/SERVER")
    mode, program = sys.argv[1], sys.argv[2]
    driver = start_browser()
    args = [program] if mode == "app" else [program, "--port", "0"]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = re.search(r"(?:port |127\.0\.0\.1:)(\d+)", line)
        if not port:
            fail(f"{program} did not report its port: {line!r}")
        base = f"http://127.0.0.1:{port.group(1)}"
        if mode == "app":
            check_app(driver, base)
        else:
            check_chat(driver, base)
        print(f"browser check ({mode}) passed")
    finally:
        driver.quit()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
