"""Embedded DEVELOPMENT broker (amqtt), for ``make demo`` on machines without mosquitto.

Not for sites: no persistence across restarts, no ACL. Run: ``python -m edge.embedded_broker``.
"""

import argparse
import asyncio
import logging


async def serve(port: int) -> None:
    from amqtt.broker import Broker  # lazy: only the demo fallback needs it

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
        "topic-check": {"enabled": False},
    }
    broker = Broker(config)
    await broker.start()
    logging.getLogger(__name__).warning("embedded DEVELOPMENT broker listening port=%d", port)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="embedded development MQTT broker (amqtt)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
