/**
 * Which job types the worker's free slots go to. The policy (docs/architecture.md, "Which job runs
 * next"):
 *
 * - Job types belong to a priority class: `user` (work a person triggered and waits for: cascades,
 *   restores, bulk requests) or `maintenance` (scheduled purge/archive, noop). Each class has a share
 *   of the worker's slots by weight, user 3 : maintenance 1. A free slot goes to the class that is
 *   furthest below its share of the running jobs (running / weight), so a class with work waiting
 *   always gets slots back as jobs finish, and neither class can hold every slot while the other
 *   waits. Equal standing is broken by the claims each class had (per weight, so at concurrency 1 the
 *   claims alternate 3 : 1), then in favour of `user`.
 * - Within a class, a free slot goes to the type with the fewest jobs running; equal standing goes to
 *   the type whose last claim is oldest, so types take turns. A type with a backlog of slow jobs
 *   therefore holds at most an equal share of its class's slots, and a fast type behind it keeps
 *   moving.
 * - A class or type with nothing waiting leaves its share to the others, and does not bank credit
 *   while idle: when it has work again it gets its share from then on, not everything it missed.
 *
 * The planner only decides; the worker claims (one pg-boss fetch per type and round) and reports
 * what it got, since another worker may have taken the jobs meanwhile.
 */

export type ClaimClassName = 'user' | 'maintenance';

interface ClaimClass {
  readonly name: ClaimClassName;
  /** Share of the slots relative to the other classes. */
  readonly weight: number;
}

/** In priority order: ties go to the first. */
const CLAIM_CLASSES: readonly ClaimClass[] = [
  { name: 'user', weight: 3 },
  { name: 'maintenance', weight: 1 },
];

interface TypeState {
  readonly type: string;
  readonly cls: number;
  running: number;
  /** Claim sequence number of its latest claim (0 = never): the oldest goes first among equals. */
  lastClaim: number;
}

interface ClassState {
  running: number;
  /** Claims divided by weight: how much of its share the class has taken so far. */
  pass: number;
}

export class ClaimPlanner {
  private readonly types = new Map<string, TypeState>();
  private readonly classes: ClassState[];
  private sequence = 0;

  constructor(jobTypes: readonly string[], classOf: (jobType: string) => ClaimClassName) {
    this.classes = CLAIM_CLASSES.map(() => ({ running: 0, pass: 0 }));
    for (const type of jobTypes) {
      const cls = CLAIM_CLASSES.findIndex((c) => c.name === classOf(type));
      this.types.set(type, { type, cls: cls < 0 ? CLAIM_CLASSES.length - 1 : cls, running: 0, lastClaim: 0 });
    }
  }

  /** Jobs of this type running now (as reported through claimed/finished). */
  running(jobType: string): number {
    return this.types.get(jobType)?.running ?? 0;
  }

  /**
   * How many of `free` slots to offer each of the `waiting` types, in claim order (highest priority
   * first). Decides slot by slot on a copy of the standings, as if every offer were taken.
   */
  plan(free: number, waiting: ReadonlySet<string>): [string, number][] {
    const types = [...this.types.values()].filter((t) => waiting.has(t.type)).map((t) => ({ ...t }));
    if (types.length === 0 || free <= 0) return [];
    this.catchUp(types);
    const classes = this.classes.map((c) => ({ ...c }));
    let sequence = this.sequence;
    const offers = new Map<string, number>();
    for (let slot = 0; slot < free; slot++) {
      const cls = this.bestClass(classes, types);
      const pick = types
        .filter((t) => t.cls === cls)
        .reduce((a, b) =>
          b.running < a.running || (b.running === a.running && b.lastClaim < a.lastClaim) ? b : a,
        );
      pick.running++;
      pick.lastClaim = ++sequence;
      classes[cls]!.running++;
      classes[cls]!.pass += 1 / CLAIM_CLASSES[cls]!.weight;
      offers.set(pick.type, (offers.get(pick.type) ?? 0) + 1);
    }
    return [...offers].sort((a, b) => this.types.get(a[0])!.cls - this.types.get(b[0])!.cls);
  }

  /** The worker claimed n jobs of this type (n may be less than offered). */
  claimed(jobType: string, n: number): void {
    const t = this.types.get(jobType);
    if (!t || n <= 0) return;
    t.running += n;
    t.lastClaim = ++this.sequence;
    const cls = this.classes[t.cls]!;
    cls.running += n;
    cls.pass += n / CLAIM_CLASSES[t.cls]!.weight;
  }

  /** One job of this type finished (or was handed back). */
  finished(jobType: string): void {
    const t = this.types.get(jobType);
    if (!t || t.running === 0) return;
    t.running--;
    this.classes[t.cls]!.running--;
  }

  /**
   * A class that had nothing waiting must not come back with a lead banked from its idle time: its
   * claim standing moves up to the lowest of the classes that did have work.
   */
  private catchUp(waiting: readonly TypeState[]): void {
    const busy = new Set(waiting.map((t) => t.cls));
    const floor = Math.min(...[...busy].map((c) => this.classes[c]!.pass));
    this.classes.forEach((c, i) => {
      if (!busy.has(i)) c.pass = Math.max(c.pass, floor);
    });
  }

  private bestClass(classes: readonly ClassState[], types: readonly TypeState[]): number {
    let best = -1;
    for (const cls of new Set(types.map((t) => t.cls))) {
      if (best < 0 || this.ahead(classes, cls, best)) best = cls;
    }
    return best;
  }

  /** Whether class b should get the next slot before class a. */
  private ahead(classes: readonly ClassState[], b: number, a: number): boolean {
    const wa = CLAIM_CLASSES[a]!.weight;
    const wb = CLAIM_CLASSES[b]!.weight;
    // running / weight compared without division, so 12 of weight 3 equals 4 of weight 1 exactly.
    const share = classes[b]!.running * wa - classes[a]!.running * wb;
    if (share !== 0) return share < 0;
    const pass = classes[b]!.pass - classes[a]!.pass;
    if (Math.abs(pass) > 1e-9) return pass < 0;
    return b < a;
  }
}
