/** Hourly prices of instance types, as the price table (`providers/prices.yaml`) lists them. */

export interface PriceQuery {
  provider: string;
  instanceType: string;
  region?: string;
  spot: boolean;
}

export interface HourlyPrice {
  usd: number;
  /** The day the table's figure was taken (YYYY-MM-DD). */
  asOf: string;
  source: string;
}
