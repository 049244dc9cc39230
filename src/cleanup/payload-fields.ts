import { entityNames, getEntity, isCalendarTimestamp, utcTimestamp } from '../soft-delete/index.ts';
import { freeTextRule, isFreeText, isIdText, isUuid, MAX_TEXT_LENGTH, quoted } from '../validation/index.ts';
import { InvalidPayloadError } from './errors.ts';

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field readers that name the job type and field in their error. */
export class PayloadFields {
  private readonly jobType: string;
  private readonly raw: Record<string, unknown>;

  constructor(jobType: string, raw: Record<string, unknown>, allowed: readonly string[]) {
    this.jobType = jobType;
    this.raw = raw;
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) throw new InvalidPayloadError(jobType, `unknown field "${key}"`);
    }
  }

  private fail(key: string, expected: string): never {
    throw new InvalidPayloadError(this.jobType, `${key} must be ${expected}, got ${quoted(this.raw[key])}`);
  }

  /**
   * Free text as every surface takes it (a reason, an actor): MAX_TEXT_LENGTH characters counted as
   * the API counts them, not blank. It was 500 UTF-16 units here, so an API delete that became a job
   * refused a reason the API had accepted, and a blank one failed only when the job ran.
   */
  optString(key: string, maxLength = MAX_TEXT_LENGTH): string | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    if (!isFreeText(v, maxLength)) this.fail(key, freeTextRule(maxLength));
    return v;
  }

  /**
   * A payload's entity the registry does not have is the payload's fault (invalid_payload): a job that
   * failed of unknown_entity matched no branch of the runbook, and a retry could not tell it apart.
   */
  entity(key: string, required: boolean): string | undefined {
    const v = required ? this.string(key) : this.optString(key, 100);
    if (v !== undefined && !entityNames().includes(v)) this.fail(key, `one of ${entityNames().join(', ')}`);
    return v;
  }

  /** A cascade job's parent: an entity with children, or the job could only ever do nothing. */
  parentEntity(key: string): string {
    const parents = entityNames().filter((name) => getEntity(name).children.length > 0);
    const v = this.string(key);
    if (!parents.includes(v)) this.fail(key, `an entity with children (${parents.join(', ')})`);
    return v;
  }

  string(key: string): string {
    const v = this.optString(key);
    if (v === undefined) this.fail(key, 'present');
    return v;
  }

  id(key: string): string {
    const v = this.raw[key];
    const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (!isIdText(s)) this.fail(key, 'a positive integer id');
    return s;
  }

  /** Lower-case, as PostgreSQL writes a uuid: compared as text with a column's value, it must match. */
  optUuid(key: string): string | undefined {
    const v = this.optString(key, 36);
    if (v !== undefined && !isUuid(v)) this.fail(key, 'a UUID');
    return v?.toLowerCase();
  }

  optBoolean(key: string): boolean | undefined {
    const v = this.raw[key];
    if (v !== undefined && typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  optIds(key: string, max: number): string[] | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || v.length > max) this.fail(key, `an array of 1 to ${max} ids`);
    return v.map((id: unknown) => {
      const s = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
      if (!isIdText(s)) this.fail(key, 'an array of positive integer ids');
      return s;
    });
  }

  optFilter(key: string): Record<string, string | number | boolean | null> | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    const scalar = (x: unknown) => x === null || ['string', 'number', 'boolean'].includes(typeof x);
    if (!isRecord(v) || Object.keys(v).length === 0 || !Object.values(v).every(scalar)) {
      this.fail(key, 'a non-empty object of string, number, boolean or null values');
    }
    return v as Record<string, string | number | boolean | null>;
  }

  optTimestamp(key: string): string | undefined {
    const v = this.optString(key, 40);
    if (v !== undefined && !isCalendarTimestamp(v)) this.fail(key, 'an ISO 8601 timestamp that exists');
    // Read as UTC without an offset, as a filter's dates are (utcTimestamp).
    return v === undefined ? undefined : utcTimestamp(v);
  }

  /** A JSON number from min to max, fractions allowed (an age in days: 1.5 is 36 hours). */
  optNumber(key: string, min: number, max: number): number | undefined {
    return this.optInRange(key, min, max, false);
  }

  optInt(key: string, min: number, max: number): number | undefined {
    return this.optInRange(key, min, max, true);
  }

  private optInRange(key: string, min: number, max: number, integer: boolean): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    const whole = !integer || Number.isInteger(v);
    if (typeof v !== 'number' || !Number.isFinite(v) || !whole || v < min || v > max) {
      this.fail(key, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return v;
  }
}
