/**
 * Bounded API load for the fault drill, and the ledger of what it was told. Each lane works on its
 * own documents and customers one request at a time, so per row the requests are ordered and the
 * answers say what the row must look like afterwards.
 */
export interface Sample {
  /** When the answer arrived (Date.now()). */
  readonly at: number;
  /** HTTP status; 0 when no answer came (connection refused or reset, timeout). */
  readonly status: number;
  readonly op: 'delete_document' | 'restore_document' | 'delete_customer' | 'list_orders';
  readonly id: string;
  readonly error?: string;
}

export interface LoadOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly documents: readonly string[];
  readonly customers: readonly string[];
  readonly lanes: number;
  /** Pause between two requests of a lane. */
  readonly pauseMs: number;
}

export async function call(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
): Promise<{ status: number; error?: string }> {
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (error) {
    return { status: 0, error: error instanceof Error ? error.message : String(error) };
  }
}

export class Load {
  readonly samples: Sample[] = [];
  private running = false;
  private lanes: Promise<void>[] = [];
  private readonly o: LoadOptions;

  constructor(options: LoadOptions) {
    this.o = options;
  }

  start(): void {
    this.running = true;
    this.lanes = Array.from({ length: this.o.lanes }, (_, k) => this.lane(k));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
  }

  private async lane(k: number): Promise<void> {
    const mine = <T>(list: readonly T[]) => list.filter((_, i) => i % this.o.lanes === k);
    const documents = mine(this.o.documents);
    const customers = [...mine(this.o.customers)];
    for (let i = 0; this.running; i++) {
      const doc = documents[(i * 7) % documents.length] as string;
      const step = i % 5;
      if (step === 0 && customers.length > 0) {
        await this.request('delete_customer', customers.shift() as string, 'DELETE', 'customers');
      } else if (step === 1 || step === 2) {
        await this.request('delete_document', doc, 'DELETE', 'documents', `?reason=drill-${k}-${i}`);
      } else if (step === 3) {
        await this.request('restore_document', doc, 'POST', 'documents', '/restore');
      } else {
        await this.request('list_orders', '', 'GET', 'orders', '?limit=5');
      }
      await new Promise((resolve) => setTimeout(resolve, this.o.pauseMs));
    }
  }

  private async request(op: Sample['op'], id: string, method: string, entity: string, tail = '') {
    const path = id ? `/v1/${entity}/${id}${tail}` : `/v1/${entity}${tail}`;
    const { status, error } = await call(this.o.baseUrl, this.o.token, method, path);
    this.samples.push({ at: Date.now(), status, op, id, ...(error ? { error } : {}) });
  }
}

/**
 * What each document must be after the drill: the state its last successful request set, or
 * undefined when a request after that one failed (its effect is unknown: it may have committed).
 */
export function expectedDocuments(samples: readonly Sample[]): Map<string, 'deleted' | 'live' | undefined> {
  const out = new Map<string, 'deleted' | 'live' | undefined>();
  for (const s of samples) {
    if (s.op !== 'delete_document' && s.op !== 'restore_document') continue;
    const ok = s.status >= 200 && s.status < 300;
    out.set(s.id, ok ? (s.op === 'delete_document' ? 'deleted' : 'live') : undefined);
  }
  return out;
}
