/**
 * One owner per bridge (issue 15): which Warren instance — named by its data dir — owns a
 * host bridge and the firewall tables on it, and what a starting instance does about it.
 * Pure logic: the facts are gathered by src/host/bridge-ownership.ts.
 *
 * Two instances on one bridge break each other: each one's nft tables drop the traffic
 * of workspaces the other registered. So the first instance writes an owner record
 * (src/host/owner-records.ts, under /run: it vanishes at reboot, as the bridge and the
 * tables do) and a second instance with another data dir is refused — unless the owner
 * is provably gone (its data dir deleted and its server not running), in which case its
 * leftovers are cleaned and the bridge changes hands.
 *
 * Tables on the bridge without any record (a Warren from before owner records) are
 * judged by what they still guard: with sandboxes of that instance on the host, someone's
 * work may run there and the start is refused; with none, they are leftovers and cleaned.
 */

/** What `/run/warren/bridges/<bridge>.json` holds. */
export interface OwnerRecord {
  bridge: string;
  subnet: string;
  /** Absolute data dir of the owning instance (its identity; instanceId derives from it). */
  dataDir: string;
  instanceId: string;
  driver: string;
  /** The owning `warren serve` process at its last start. */
  pid: number;
  startedAt: string;
  tables: { inet: string; bridge: string };
}

/** The instance that wants the bridge. */
export interface Claimant {
  dataDir: string;
  instanceId: string;
  bridge: string;
}

/** Firewall tables of another instance that name the bridge but that no record explains. */
export interface UnrecordedTables {
  instanceId: string;
  tables: string[];
  /** That instance's sandboxes left on the host (netns, cgroups, mounts). */
  sandboxes: number;
}

/** What the host says, gathered before the bridge is touched. */
export interface OwnershipFacts {
  record: OwnerRecord | null;
  /** Whether the record's data dir still exists (false without a record). */
  ownerDataDirExists: boolean;
  /** Whether the record's server process is alive (false without a record). */
  ownerAlive: boolean;
  /** Sandboxes of the record's instance on the host. */
  ownerSandboxes: number;
  /** Tables of instances other than the claimant and the record's owner, on this bridge. */
  unrecorded: UnrecordedTables[];
}

export type OwnershipDecision =
  | { action: 'refuse'; message: string }
  | {
    action: 'claim';
    /** A previous owner whose data dir is gone: clean its leftovers and its record first. */
    takeOver: OwnerRecord | null;
    /** Record-less tables with no sandboxes left: remove them first. */
    clearUnrecorded: UnrecordedTables[];
    /** The record already names the claimant (a restart): replace it rather than create it. */
    ownRecord: boolean;
  };

export function decideOwnership(self: Claimant, facts: OwnershipFacts): OwnershipDecision {
  const { record } = facts;
  const foreign = record !== null && record.dataDir !== self.dataDir;
  if (foreign && (facts.ownerAlive || facts.ownerDataDirExists)) {
    return { action: 'refuse', message: ownedMessage(self, record, facts) };
  }
  const guarded = facts.unrecorded.filter((u) => u.sandboxes > 0);
  if (guarded.length > 0) return { action: 'refuse', message: unrecordedMessage(self, guarded) };
  return {
    action: 'claim',
    takeOver: foreign ? record : null,
    clearUnrecorded: facts.unrecorded,
    ownRecord: record !== null && !foreign,
  };
}

function waysOut(self: Claimant, purgeDir: string): string {
  return `Two Warren instances cannot share a bridge: each one's firewall drops the other's workspace traffic.\n`
    + `Either start this instance (data dir ${self.dataDir}) on a bridge and subnet of its own:\n`
    + `  warren serve --data-dir ${self.dataDir} --bridge <new-bridge> --subnet <free-cidr>\n`
    + `or remove the other instance's sandboxes, tables and bridge first (this destroys its workspaces):\n`
    + `  warren purge --data-dir ${purgeDir} --yes`;
}

function ownedMessage(self: Claimant, owner: OwnerRecord, facts: OwnershipFacts): string {
  const server = facts.ownerAlive ? `its server is running (pid ${owner.pid})` : 'its server is not running';
  return `bridge ${self.bridge} is owned by the Warren instance with data dir ${owner.dataDir} `
    + `(subnet ${owner.subnet}, firewall tables inet ${owner.tables.inet} and bridge ${owner.tables.bridge}; `
    + `${server}; ${facts.ownerSandboxes} sandbox(es) on this host).\n`
    + waysOut(self, owner.dataDir);
}

function unrecordedMessage(self: Claimant, guarded: UnrecordedTables[]): string {
  const list = guarded.map((u) => `${u.tables.join(', ')} (instance ${u.instanceId}, ${u.sandboxes} sandbox(es) left)`).join('; ');
  return `bridge ${self.bridge} carries firewall tables of another Warren instance that left no owner record `
    + `(a Warren from before owner records): ${list}. Its data dir is not known, so it is not cleaned automatically.\n`
    + waysOut(self, '<its data dir>');
}
