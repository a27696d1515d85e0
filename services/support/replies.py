"""Answer templates, zh and en: each renders from facts only.

No template holds a number of its own; every figure comes from a fact, which is
what lets the fact checker hold templates to the same rule as the LLM.
"""

from __future__ import annotations

from services.support.facts import Facts

STATUS_WORDS = {
    "unfulfilled": ("has not shipped yet: it is being prepared", "尚未发货，正在备货"),
    "confirmed": ("is confirmed and being prepared for shipping", "已确认，正在备货"),
    "awaiting_payment": ("has not shipped: it is waiting for your payment", "尚未发货，等待您付款"),
    "shipped": ("has shipped", "已发货"),
    "delivered": ("has been delivered", "已签收"),
    "cancelled": ("was cancelled", "已取消"),
}
PAYMENT_WORDS = {
    "pending": ("awaiting payment", "待付款"),
    "paid": ("paid", "已付款"),
    "partially_refunded": ("partially refunded", "部分退款"),
    "refunded": ("refunded", "已退款"),
    "voided": ("voided", "已作废"),
}
CARRIER_NAMES = {
    "SF": ("SF Express", "顺丰"),
    "YTO": ("YTO Express", "圆通"),
    "ZTO": ("ZTO Express", "中通"),
    "STO": ("STO Express", "申通"),
    "YUNDA": ("Yunda", "韵达"),
    "EMS": ("EMS", "EMS"),
    "JD": ("JD Logistics", "京东物流"),
}
POLICY_HEADINGS = {
    "shipping": ("Shipping", "配送说明"),
    "returns": ("Returns and refunds", "退换货与退款"),
    "address_change": ("Changing the address", "修改地址"),
    "invoice": ("Invoices", "发票"),
    "warranty": ("Warranty", "保修"),
    "payment": ("Payment", "付款方式"),
    "cancellation": ("Cancelling an order", "取消订单"),
    "service_hours": ("Service hours", "客服时间"),
}
FACT_LABELS = {
    "material": ("material", "材质"),
    "capacity": ("capacity", "容量"),
    "sizes": ("sizes", "尺码"),
    "fit": ("fit", "版型"),
    "care": ("care", "洗涤保养"),
    "dimensions": ("dimensions", "尺寸"),
    "weight": ("weight", "重量"),
    "in_the_box": ("in the box", "包装内含"),
    "battery": ("battery", "续航"),
    "waterproof": ("water resistance", "防水"),
    "warranty": ("warranty", "保修"),
    "hot_drinks": ("hot drinks", "装热饮"),
    "dishwasher": ("dishwasher", "洗碗机"),
    "laptop": ("laptop", "放电脑"),
    "colour": ("colour", "颜色"),
    "origin": ("made in", "产地"),
}
SMALL_TALK = {
    "hello": ("Hello! How can I help you?", "您好，在的！请问有什么可以帮您？"),
    "thanks": ("You're welcome! Anything else I can help with?", "不客气！还有什么可以帮您的吗？"),
    "bye": ("Bye, have a nice day!", "再见，祝您生活愉快！"),
}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "zh" else pair[0]


def status_word(status: str, language: str) -> str:
    return _pick(STATUS_WORDS.get(status, (status, status)), language)


def payment_word(status: str, language: str) -> str:
    return _pick(PAYMENT_WORDS.get(status, (status, status)), language)


def carrier_name(code: str, language: str) -> str:
    return _pick(CARRIER_NAMES.get(code.upper(), (code, code)), language)


def order_status(facts: Facts, language: str) -> str:
    oid, status = facts.get("order.id"), facts.get("order.status")
    carrier, tracking, shipped = (
        facts.get("shipment.carrier"),
        facts.get("shipment.tracking"),
        facts.get("shipment.date"),
    )
    refunded = facts.get("order.refunded")
    if language == "zh":
        text = f"您的订单{oid}{status}（{facts.get('order.payment')}）。"
        if shipped:
            text += f"已于{shipped}发出"
            text += f"，承运商：{carrier}" if carrier else ""
            text += f"，运单号：{tracking}" if tracking else ""
            text += "。"
        if refunded:
            text += f"已退款{refunded}。"
        return text
    text = f"Your order {oid} {status} ({facts.get('order.payment')})."
    if shipped:
        text += f" It was shipped on {shipped}"
        text += f" with {carrier}" if carrier else ""
        text += f", tracking number {tracking}" if tracking else ""
        text += "."
    if refunded:
        text += f" Refunded so far: {refunded}."
    return text


def _variant_name(title: str, option: str, language: str) -> str:
    if not option:
        return title
    return f"{title}（{option}）" if language == "zh" else f"{title} ({option})"


def stock_text(facts: Facts, language: str) -> str:
    lines = []
    for title, option, state, available in _variants(facts):
        name = _variant_name(title, option, language)
        if state == "out":
            lines.append(f"{name}目前缺货。" if language == "zh" else f"{name} is out of stock at the moment.")
        elif state == "few":
            lines.append(
                f"{name}有货，仅剩{available}件。"
                if language == "zh"
                else f"{name} is in stock: only {available} left."
            )
        else:
            lines.append(f"{name}有货。" if language == "zh" else f"{name} is in stock.")
    return ("" if language == "zh" else " ").join(lines)


def price_text(facts: Facts, language: str) -> str:
    lines = []
    for index, (title, option, _, _) in enumerate(_variants(facts)):
        name = _variant_name(title, option, language)
        price = facts.all("variant.price")[index]
        was = facts.all("variant.compare_at_price")[index]
        off = facts.all("variant.percent_off")[index]
        if language == "zh":
            line = f"{name}售价{price}"
            line += f"（原价{was}，优惠{off}%）。" if was else "。"
        else:
            line = f"{name} costs {price}"
            line += f" (was {was}, {off}% off)." if was else "."
        lines.append(line)
    return ("" if language == "zh" else " ").join(lines)


def _variants(facts: Facts) -> list[tuple[str, str, str, str]]:
    """The variants the answer covers, in order: (title, option, state, available)."""
    titles, options = facts.all("variant.title"), facts.all("variant.option")
    states, available = facts.all("variant.stock"), facts.all("variant.available")
    return list(zip(titles, options, states, available, strict=True))


def policy(facts: Facts, topic: str, language: str) -> str:
    heading = _pick(POLICY_HEADINGS[topic], language)
    body = facts.get(f"policy.{topic}")
    text = f"{heading}：{body}" if language == "zh" else f"{heading}: {body}"
    if facts.get("order.id"):
        text += ("" if language == "zh" else " ") + order_status(facts, language)
    return text


def handed_off(facts: Facts, language: str) -> str:
    ticket = facts.get("ticket.id")
    if language == "zh":
        return f"已为您转接人工客服（工单号{ticket}），店铺的工作人员会尽快在这里回复您。"
    return f"I've passed this to the shop's staff (ticket {ticket}); a person will reply here soon."


def need_order_id(language: str) -> str:
    return "请告诉我您的订单号。" if language == "zh" else "Please tell me your order number."


def order_not_found(facts: Facts, language: str) -> str:
    oid = facts.get("question.order_id")
    if language == "zh":
        return f"在您的订单中没有找到订单{oid}，请核对订单号。"
    return f"I couldn't find order {oid} among your orders. Please check the number."


def need_product(language: str) -> str:
    if language == "zh":
        return "没有找到您说的商品，请告诉我商品名称或商品编号。"
    return "I couldn't find that product in this shop. Please tell me its name or product code."


def greeting(language: str) -> str:
    if language == "zh":
        return "您好！可以问我订单物流、商品库存和价格、配送时间、退换货、修改地址或发票等问题。"
    return (
        "Hello! You can ask me about your order, a product's stock or price, shipping, "
        "returns, changing the address or invoices."
    )


def product_facts(facts: Facts, language: str) -> str:
    """One line per product: each fact asked about, as the merchant wrote it."""
    lines = []
    titles = facts.all("product.title")
    for index, title in enumerate(titles):
        parts = []
        if not [v for v in facts.all(f"product.{index}.value") if v]:
            lines.append(
                f"{title}：店铺暂未提供这项信息。" if language == "zh" else f"{title}: the shop has not listed this."
            )
            continue
        for name, value in zip(facts.all(f"product.{index}.fact"), facts.all(f"product.{index}.value"), strict=True):
            label = _pick(FACT_LABELS.get(name, (name, name)), language)
            parts.append(f"{label}：{value}" if language == "zh" else f"{label}: {value}")
        if language == "zh":
            lines.append(f"{title}的" + "；".join(parts) + "。")
        else:
            lines.append(f"{title} — " + "; ".join(parts) + ".")
    return ("" if language == "zh" else " ").join(lines)


def which_product(facts: Facts, language: str) -> str:
    """Ask which product, listing the candidates when there are some."""
    named = [
        f"{t}（{s}）" if language == "zh" else f"{t} ({s})"
        for t, s in zip(facts.all("candidate.title"), facts.all("candidate.sku"), strict=True)
    ]
    if not named:
        if language == "zh":
            return "请问您问的是哪款商品？没有找到您说的商品，请告诉我商品名称或商品编号。"
        return "Which product do you mean? I couldn't find it in this shop; please tell me its name or product code."
    if language == "zh":
        return "请问您问的是哪款：" + "、".join(named[:-1]) + f"还是{named[-1]}？"
    return "Which do you mean: " + ", ".join(named[:-1]) + f" or {named[-1]}?"


def small_talk(kind: str, language: str) -> str:
    return _pick(SMALL_TALK[kind], language)
