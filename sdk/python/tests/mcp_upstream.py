"""A small MCP server on the official Python SDK (`mcp` from PyPI), the upstream the approval
proxy guards in the tests. Every call it runs is appended to a log (one JSON line), so a test
can see exactly which calls reached it and with which arguments.

Usage: mcp_upstream.py PORT CALL_LOG
"""

import json
import sys

from mcp.server.mcpserver import MCPServer

port, log = int(sys.argv[1]), sys.argv[2]
server = MCPServer("invoices")


def ran(tool: str, arguments: dict) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def pay_invoice(invoice: str, amount: str, currency: str, payee: str, account: str) -> str:
    """Pay a supplier invoice from an account (high impact: the proxy guards it)."""
    ran("pay_invoice", {"invoice": invoice, "amount": amount, "currency": currency,
                        "payee": payee, "account": account})
    return f"paid {currency} {amount} to {payee} from {account} for invoice {invoice}"


@server.tool()
def lookup_invoice(invoice: str) -> str:
    """Read an invoice (low impact: passes through)."""
    ran("lookup_invoice", {"invoice": invoice})
    return f"invoice {invoice}: ACME GmbH, EUR 1250.00, due 2026-12-31"


if __name__ == "__main__":
    server.run(transport="streamable-http", host="127.0.0.1", port=port)
