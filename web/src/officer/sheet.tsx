// A sheet over the screen: the browser's modal <dialog> (focus kept inside, Escape and the phone's back
// gesture close it, the rest of the page inert for screen readers), styled to rise from the bottom on a phone.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { tc } from '../shared/strings';

export function Sheet(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const heading = useId();
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (!element.open) element.showModal();
    const closed = () => close.current();
    element.addEventListener('close', closed);
    return () => {
      element.removeEventListener('close', closed);
      if (element.open) element.close();
    };
  }, []);
  return (
    <dialog ref={dialog} class={`sheet${props.wide ? ' sheet-wide' : ''}`} aria-labelledby={heading}>
      <div class="sheet-head">
        <h2 id={heading}>{props.title}</h2>
        <button type="button" onClick={() => dialog.current?.close()}>
          {tc('app.close')}
        </button>
      </div>
      {props.children}
    </dialog>
  );
}
