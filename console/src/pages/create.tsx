/** Create a workspace. (The full form: see the workspace-create work.) */
export function CreateWorkspace() {
  return <section><h1>New workspace</h1></section>;
}
