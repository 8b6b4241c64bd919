import { now } from './metrics';

export interface SendStats {
  /** Time in transport.send (MIME build + SMTP round trips), summed over the sends in flight. */
  sendMs: number;
  sends: number;
  inFlight: number;
  maxInFlight: number;
}

/**
 * Wraps `engine.transport()` of the running mail service so every transport it hands out times its send() and
 * counts how many sends overlap. Returns the live figures; `reset()` zeroes them between runs (sends still in
 * flight keep counting).
 */
export function probeTransport(engine: any): SendStats & { reset(): void } {
  const stats = {
    sendMs: 0,
    sends: 0,
    inFlight: 0,
    maxInFlight: 0,
    reset() {
      stats.sendMs = 0;
      stats.sends = 0;
      stats.maxInFlight = 0;
    },
  };
  const original = engine.transport.bind(engine);
  engine.transport = async (model: any) => {
    const transport = await original(model);
    if (!transport.__benchWrapped) {
      const send = transport.send.bind(transport);
      transport.send = async (msg: any, opts?: any) => {
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        const t0 = now();
        try {
          return await send(msg, opts);
        } finally {
          stats.sendMs += now() - t0;
          stats.sends++;
          stats.inFlight--;
        }
      };
      transport.__benchWrapped = true;
    }
    return transport;
  };
  return stats;
}
