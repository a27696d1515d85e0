"""Benchmark: the llama.cpp server as the stack starts it, on the request the NLU will send.

Starts `python -m llama_cpp.server` with shopvoice.llm_server's command line (the pinned,
verified Qwen2.5-Coder-1.5B-Instruct Q4_K_M unless LLM_MODEL_PATH says otherwise), then:

- load: spawn -> /v1/models answers (weights verification timed apart, before it);
- the first request, whose ~1,800-token prefix the server has not read yet;
- N requests, each the same fixed system prompt (rules, intents, a catalog, examples) and a
  different short merchant utterance, with response_format {"type": "json_object",
  "schema": ...} (llama.cpp's form): p50/p95 wall time, generated tokens per second;
- the server's RSS (anonymous and file-backed: the GGUF is mmapped) and its peak;
- which response_format forms it accepts: llama.cpp's, and vLLM's {"type": "json_schema"};
- how long /openapi.json and /v1/models take to answer while a completion runs (the probes).

    PYTHONPATH=. python bench/llm_server_bench.py [--requests 20] [--port 18181] [--server-arg=--flag --server-arg=value]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from shopvoice.llm_server import LlmServerSettings, command, environment
from shopvoice.weights import LLM, locate

# A small shop: SKU, Chinese title, English title, price, stock.
CATALOG = [
    ("A100", "红色T恤", "Red T-shirt", "89.00", 100),
    ("A101", "黑色T恤", "Black T-shirt", "89.00", 80),
    ("B200", "蓝色牛仔裤", "Blue jeans", "199.00", 50),
    ("B201", "黑色直筒裤", "Black straight trousers", "179.00", 35),
    ("C7", "白色运动鞋", "White sneakers", "299.00", 40),
    ("C8", "黑色跑步鞋", "Black running shoes", "329.00", 25),
    ("D42", "灰色连帽卫衣", "Grey hoodie", "159.00", 60),
    ("D43", "藏青连帽卫衣", "Navy hoodie", "159.00", 45),
    ("E15", "帆布托特包", "Canvas tote bag", "69.00", 120),
    ("E16", "皮革双肩包", "Leather backpack", "399.00", 15),
    ("F3", "不锈钢保温杯", "Steel water bottle", "79.00", 200),
    ("F4", "玻璃水杯", "Glass water bottle", "49.00", 150),
    ("G9", "羊毛围巾", "Wool scarf", "129.00", 70),
    ("H21", "棒球帽", "Baseball cap", "59.00", 90),
    ("K5", "运动袜三双装", "Sports socks, 3 pairs", "39.00", 300),
]
INTENTS = {
    "set_price": "sku, price: the new price",
    "adjust_price": "sku, and delta (money) or percent (negative lowers)",
    "set_stock": "sku, quantity: the stock count after",
    "adjust_stock": "sku, delta: units added (negative removes)",
    "query_stock": "sku",
    "query_product": "sku",
    "set_product_status": "sku, status: active (on sale) or archived (off the shelf)",
    "ship_order": "order_id, carrier, tracking_number",
    "cancel_order": "order_id",
    "refund_order": "order_id, amount (only when said)",
    "list_orders": "status: unfulfilled, fulfilled or cancelled",
    "sales_report": "metric: revenue, orders or top_products; period: today, yesterday, this_week, this_month",
    "unknown": "anything else",
}
EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("把Q900的价格改成65元", {"intent": "set_price", "sku": "Q900", "price": "65.00"}),
    ("set Q900 to 65 dollars", {"intent": "set_price", "sku": "Q900", "price": "65.00"}),
    ("Q900降价5块", {"intent": "adjust_price", "sku": "Q900", "delta": "-5.00"}),
    ("Q900打九折", {"intent": "adjust_price", "sku": "Q900", "percent": -10}),
    ("knock 15 percent off Q900", {"intent": "adjust_price", "sku": "Q900", "percent": -15}),
    ("Q900库存改成12", {"intent": "set_stock", "sku": "Q900", "quantity": 12}),
    ("we now have 12 of Q900", {"intent": "set_stock", "sku": "Q900", "quantity": 12}),
    ("Q900补货30件", {"intent": "adjust_stock", "sku": "Q900", "delta": 30}),
    ("add thirty Q900 to stock", {"intent": "adjust_stock", "sku": "Q900", "delta": 30}),
    ("Q900还剩几件", {"intent": "query_stock", "sku": "Q900"}),
    ("how many Q900 left", {"intent": "query_stock", "sku": "Q900"}),
    ("看看Q900的详情", {"intent": "query_product", "sku": "Q900"}),
    ("tell me about Q900", {"intent": "query_product", "sku": "Q900"}),
    ("Q900先下架", {"intent": "set_product_status", "sku": "Q900", "status": "archived"}),
    ("put Q900 back on sale", {"intent": "set_product_status", "sku": "Q900", "status": "active"}),
    (
        "订单90001用圆通发了，单号YT7700",
        {"intent": "ship_order", "order_id": "90001", "carrier": "YTO", "tracking_number": "YT7700"},
    ),
    (
        "ship 90001 with SF, tracking SF7700",
        {"intent": "ship_order", "order_id": "90001", "carrier": "SF", "tracking_number": "SF7700"},
    ),
    ("把90001取消掉", {"intent": "cancel_order", "order_id": "90001"}),
    ("cancel 90001 please", {"intent": "cancel_order", "order_id": "90001"}),
    ("90001退款20元", {"intent": "refund_order", "order_id": "90001", "amount": "20.00"}),
    ("refund 90001 in full", {"intent": "refund_order", "order_id": "90001"}),
    ("还有哪些没发货", {"intent": "list_orders", "status": "unfulfilled"}),
    ("show me the cancelled orders", {"intent": "list_orders", "status": "cancelled"}),
    ("昨天卖了多少钱", {"intent": "sales_report", "metric": "revenue", "period": "yesterday"}),
    ("best sellers this week", {"intent": "sales_report", "metric": "top_products", "period": "this_week"}),
    ("今天几单了", {"intent": "sales_report", "metric": "orders", "period": "today"}),
    ("what's the weather like", {"intent": "unknown"}),
    ("帮我订一张机票", {"intent": "unknown"}),
]
UTTERANCES = [
    "A100改成89块",
    "set A100 to 79",
    "what's the price of C7",
    "上周卖了多少",
    "list all products",
    "how much revenue yesterday",
    "灰色卫衣还有多少件",
    "take D42 off the shelf",
    "黑色T恤补货二十件",
    "lower the blue jeans by 10 percent",
    "订单5678用顺丰发货，单号SF12345",
    "void order 5678",
    "refund order 4321",
    "还没发货的订单有哪些",
    "publish E15",
    "保温杯打八折",
    "we have 40 wool scarves now",
    "今天卖了几单",
    "top products this month",
    "说个笑话",
]


def system_prompt() -> str:
    lines = [
        "You turn a shop merchant's command (Chinese or English, typed or transcribed speech) into one JSON command.",
        "Rules:",
        "- Answer with one JSON object only: the intent and the slots the merchant said. Never invent a slot value.",
        "- sku: one of the catalog's SKUs below. When the merchant names a product by its title, use that product's SKU.",
        '- Money is a string with two decimals (89 -> "89.00"). 打八折 is percent -20, 九折 -10, 七五折 -25.',
        "- set_* gives the new value; adjust_* gives a change. 入库/补货/add are adjust_stock; 库存改成/设为 are set_stock.",
        "- Carriers: SF (顺丰), YTO (圆通), ZTO (中通), STO (申通), YUNDA (韵达), EMS, JD (京东).",
        "- Periods: today, yesterday, this_week, this_month. Order ids are digits.",
        "- Anything that is not one of these commands is intent unknown.",
        "Intents and their slots:",
        *(f"- {intent}: {slots}" for intent, slots in INTENTS.items()),
        "Catalog (sku | Chinese title | English title | price | stock):",
        *(f"- {sku} | {zh} | {en} | {price} | {stock}" for sku, zh, en, price, stock in CATALOG),
        "Examples (Q900 and order 90001 stand for any product and order):",
        *(f"{text} => {json.dumps(answer, ensure_ascii=False)}" for text, answer in EXAMPLES),
    ]
    return "\n".join(lines)


def command_schema() -> dict[str, Any]:
    """A small command schema in the subset llama.cpp's grammar converter handles."""
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": sorted(INTENTS)},
            "sku": {"type": "string", "enum": [sku for sku, *_ in CATALOG]},
            "price": {"type": "string", "pattern": "^[0-9]{1,7}[.][0-9]{2}$"},
            "delta": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]{1,7}[.][0-9]{2}$"}]},
            "percent": {"type": "integer"},
            "quantity": {"type": "integer"},
            "amount": {"type": "string", "pattern": "^[0-9]{1,7}[.][0-9]{2}$"},
            "order_id": {"type": "string", "pattern": "^[0-9]{1,12}$"},
            "carrier": {"type": "string", "enum": ["SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD"]},
            "tracking_number": {"type": "string", "pattern": "^[A-Za-z0-9]{4,30}$"},
            "status": {"type": "string", "enum": ["active", "archived", "unfulfilled", "fulfilled", "cancelled"]},
            "metric": {"type": "string", "enum": ["revenue", "orders", "top_products"]},
            "period": {"type": "string", "enum": ["today", "yesterday", "this_week", "this_month"]},
        },
        "required": ["intent"],
        "additionalProperties": False,
    }


def llama_cpp_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_object", "schema": schema}


def vllm_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "command", "schema": schema, "strict": True}}


def post(url: str, body: dict[str, Any], timeout: float = 120.0) -> tuple[int, dict[str, Any], float]:
    """(HTTP status, JSON body, seconds) of one POST."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, json.load(response)
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read() or b"{}")
    return status, payload, time.perf_counter() - start


def get_seconds(url: str, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
    return time.perf_counter() - start


def chat(base: str, model: str, text: str, response_format: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    body = {
        "model": model,
        "messages": [{"role": "system", "content": system_prompt()}, {"role": "user", "content": text}],
        "temperature": 0,
        "max_tokens": 96,
        "response_format": response_format,
    }
    return post(f"{base}/v1/chat/completions", body)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak), RssAnon and RssFile of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: under other load, closer to its own cost than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_serving(base: str, server: subprocess.Popen[bytes], limit_s: float = 300.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before serving")
        try:
            get_seconds(f"{base}/v1/models", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer within {limit_s:.0f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def probe_during_completion(base: str, model: str, schema: dict[str, Any]) -> tuple[float, float]:
    """Seconds /openapi.json and /v1/models take to answer while a completion is being generated."""
    worker = threading.Thread(
        target=chat, args=(base, model, "lower the blue jeans by 10 percent", llama_cpp_format(schema))
    )
    worker.start()
    time.sleep(0.3)
    openapi = get_seconds(f"{base}/openapi.json")
    models = get_seconds(f"{base}/v1/models")
    worker.join()
    return openapi, models


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--server-arg", action="append", default=[], help="appended to the server's command line")
    args = parser.parse_args()

    settings = LlmServerSettings(LLM_HOST="127.0.0.1", LLM_PORT=args.port or free_port())
    base = f"http://127.0.0.1:{settings.port}"
    start = time.perf_counter()
    model = locate(LLM)
    verified_s = time.perf_counter() - start
    argv = [*command(model, settings), *args.server_arg]
    print(f"server: {' '.join(argv[1:])}")
    start = time.perf_counter()
    server = subprocess.Popen(argv, env=environment(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(base, server)
        load_s = time.perf_counter() - start
        print(f"weights verified (size + sha256) in {verified_s:.2f} s; server serving {load_s:.2f} s after spawn")
        after_load = memory_kib(server.pid)
        schema = command_schema()

        status, first, first_s = chat(base, settings.model_alias, UTTERANCES[0], llama_cpp_format(schema))
        if status != 200:
            print(f"first request failed: HTTP {status} {first}")
            return 1
        prompt_tokens = first["usage"]["prompt_tokens"]
        print(f"first request (reads the whole {prompt_tokens}-token prompt): {first_s:.2f} s")

        latencies, generated, cpu, invalid = [], [], [], 0
        for i in range(args.requests):
            text = UTTERANCES[(i + 1) % len(UTTERANCES)]
            before = cpu_seconds(server.pid)
            status, answer, seconds = chat(base, settings.model_alias, text, llama_cpp_format(schema))
            cpu.append(cpu_seconds(server.pid) - before)
            content = answer["choices"][0]["message"]["content"] if status == 200 else ""
            try:
                json.loads(content)
            except json.JSONDecodeError:
                invalid += 1
            latencies.append(seconds)
            generated.append(answer.get("usage", {}).get("completion_tokens", 0))
            print(f"  {seconds:5.2f} s ({cpu[-1]:5.2f} s CPU)  {text}  ->  {content}")
        rate = sum(generated) / sum(latencies)
        print(
            f"{args.requests} requests, same {prompt_tokens}-token prefix, json_object + schema: "
            f"p50 {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, "
            f"max {max(latencies):.2f} s; {statistics.mean(generated):.1f} tokens generated per answer, "
            f"{rate:.1f} tokens/s over the whole request; {invalid} answers not JSON"
        )
        print(
            f"server CPU time per request ({settings.threads} threads): p50 {statistics.median(cpu):.2f} s, "
            f"p95 {percentile(cpu, 0.95):.2f} s (wall time on an idle machine is about this over the thread count)"
        )

        vllm_status, vllm_answer, _ = chat(base, settings.model_alias, "set A100 to 79", vllm_format(schema))
        detail = "" if vllm_status == 200 else f": {str(vllm_answer.get('error', vllm_answer))[:160]}"
        print('response_format {"type": "json_object", "schema": ...}: HTTP 200')
        print(
            f'response_format {{"type": "json_schema", "json_schema": ...}} (vLLM\'s form): HTTP {vllm_status}{detail}'
        )

        openapi_s, models_s = probe_during_completion(base, settings.model_alias, schema)
        print(f"during a completion: /openapi.json answered in {openapi_s:.3f} s, /v1/models in {models_s:.3f} s")

        mem = memory_kib(server.pid)
        print(
            f"RSS after load {after_load['VmRSS'] / 1024:.0f} MiB; after the run {mem['VmRSS'] / 1024:.0f} MiB "
            f"(anonymous {mem['RssAnon'] / 1024:.0f} MiB, file-backed {mem['RssFile'] / 1024:.0f} MiB), "
            f"peak {mem['VmHWM'] / 1024:.0f} MiB"
        )
        print(f"load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
