import { useState } from "react";

/** A token pasted here is kept for this tab only (sessionStorage). */
export function SignIn(props: { onToken: (token: string) => void; error?: string | undefined }) {
  const [token, setToken] = useState("");
  return (
    <main className="signin">
      <h1>Gigafactory</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) props.onToken(token.trim());
        }}
      >
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          placeholder="gf_…"
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        <button type="submit">Sign in</button>
        {props.error ? (
          <div className="error" role="alert">
            {props.error}
          </div>
        ) : null}
        <p className="muted">
          A service or admin token (<code>gf token create</code>), or open the URL <code>gf dashboard</code> prints.
        </p>
      </form>
    </main>
  );
}
