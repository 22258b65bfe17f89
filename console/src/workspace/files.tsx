/**
 * The Files tab: behind the runtime access gate, the workspace's files through the runtime API
 * (files/browser.tsx: browse, open and edit text, upload, download, new folder, delete).
 */
import '../files/files.css';
import type { TabProps } from './tab-props.js';
import { FileBrowser } from '../files/browser.js';
import { RuntimeGate } from './runtime-gate.js';

export function FilesTab(props: TabProps) {
  return (
    <RuntimeGate ws={props.ws} refresh={props.refresh} purpose="the files">
      {() => <FileBrowser key={props.ws.id} ws={props.ws.id} />}
    </RuntimeGate>
  );
}
