/**
 * `--public-domain` / WARREN_PUBLIC_DOMAIN: the edge serves exposed ports at
 * `<slug>.<public domain>` (default `localhost`, which resolves to loopback on
 * most systems without any DNS set-up).
 */
export const DEFAULT_PUBLIC_DOMAIN = 'localhost';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function parsePublicDomain(value: string | undefined): string {
  const domain = (value ?? DEFAULT_PUBLIC_DOMAIN).trim().toLowerCase().replace(/\.$/, '');
  if (domain.length === 0 || domain.length > 200 || !domain.split('.').every((l) => LABEL.test(l))) {
    throw new Error(`--public-domain must be a DNS name such as apps.example.com, got ${JSON.stringify(value)}`);
  }
  return domain;
}
