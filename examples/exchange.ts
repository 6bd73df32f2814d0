/**
 * An exchange simulator on loopback for the demo: a REST API (ticker, depth,
 * orders) and a market-data WebSocket (trades and book updates to each
 * subscribed stream, an ack per subscription), built on lifeline's fault
 * servers so that the demo can break it the way real venues break.
 */
import { startFaultHttpServer, startFaultWsServer, type FaultHttpServer, type FaultWsServer, type FaultWsSocket } from 'lifeline-supervisor/testing';

export interface Exchange {
  rest: FaultHttpServer;
  stream: FaultWsServer;
  close(): Promise<void>;
}

interface Subscribe {
  method?: string;
  params?: string[];
  id?: number;
}

export async function startExchange(): Promise<Exchange> {
  let price = 64_000;
  let orderId = 1;
  const rest = await startFaultHttpServer({
    handler: (req, res) => {
      res.setHeader('content-type', 'application/json');
      const path = req.url?.split('?')[0];
      if (path === '/api/v3/ticker/price') return res.end(JSON.stringify({ symbol: 'BTCUSDT', price: price.toFixed(2) }));
      if (path === '/api/v3/depth') {
        const bids = Array.from({ length: 5 }, (_, i) => [(price - i).toFixed(2), '0.5']);
        return res.end(JSON.stringify({ lastUpdateId: Date.now(), bids }));
      }
      if (path === '/api/v3/order' && req.method === 'POST') {
        req.resume();
        return req.once('end', () => res.end(JSON.stringify({ orderId: orderId++, status: 'NEW' })));
      }
      res.statusCode = 404;
      res.end('{}');
    },
  });

  // Which streams each socket subscribed to ("btcusdt@trade", "btcusdt@depth").
  const streams = new Map<FaultWsSocket, Set<string>>();
  const stream = await startFaultWsServer({
    onMessage: (socket, text) => {
      const request = JSON.parse(text) as Subscribe;
      if (request.method !== 'SUBSCRIBE') return;
      const set = streams.get(socket) ?? new Set();
      for (const name of request.params ?? []) set.add(name);
      streams.set(socket, set);
      socket.once('close', () => streams.delete(socket));
      socket.send(JSON.stringify({ result: null, id: request.id }));
    },
  });

  const tick = setInterval(() => {
    price += (Math.random() - 0.5) * 10;
    const trade = JSON.stringify({ e: 'trade', s: 'BTCUSDT', p: price.toFixed(2), T: Date.now() });
    const depth = JSON.stringify({ e: 'depthUpdate', s: 'BTCUSDT', b: [[price.toFixed(2), '1.0']], E: Date.now() });
    for (const [socket, names] of streams) {
      if (!stream.clients.has(socket)) continue;
      if (names.has('btcusdt@trade')) stream.send(socket, trade);
      if (names.has('btcusdt@depth')) stream.send(socket, depth);
    }
  }, 20);
  tick.unref();

  return {
    rest,
    stream,
    async close() {
      clearInterval(tick);
      await Promise.all([rest.close(), stream.close()]);
    },
  };
}
