import { useState } from 'preact/hooks';

/** A read-only value with a copy button (for the SSH command, tokens, URLs). */
export function CopyField(props: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      const area = document.createElement('textarea');
      area.value = props.value;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div class="copy-field">
      <code aria-label={props.label}>{props.value}</code>
      <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${props.label}`}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  );
}
