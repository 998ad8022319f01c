import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { ApiClient } from '../api/client';

/** The token's own description, as `GET /v1/session` answers it. */
export interface SessionInfo {
  readonly tokenId: string;
  readonly role: Role;
  readonly sites: readonly string[] | '*';
  readonly person: string | null;
  readonly expiresAt: string | null;
}

export type Role = 'product' | 'analyst' | 'legal' | 'privacy' | 'auditor' | 'admin';

interface SessionState {
  /** The API as the signed-in token, or anonymously (the public log and reports). */
  readonly api: ApiClient;
  readonly session: SessionInfo | null;
  signIn(token: string): Promise<void>;
  signOut(): void;
}

// The token lives in this tab's sessionStorage only: closing the tab forgets it, and no other
// tab, cookie or persistent store ever holds it.
const TOKEN_KEY = 'glasshouse.token';
const SESSION_KEY = 'glasshouse.session';

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [session, setSession] = useState<SessionInfo | null>(() => storedSession());

  const signIn = useCallback(
    async (candidate: string) => {
      const trimmed = candidate.trim();
      // Asked before anything is stored: a wrong token leaves the console signed out.
      const info = await new ApiClient(trimmed).get<SessionInfo>('/v1/session');
      sessionStorage.setItem(TOKEN_KEY, trimmed);
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(info));
      queryClient.clear();
      setToken(trimmed);
      setSession(info);
    },
    [queryClient],
  );

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(SESSION_KEY);
    queryClient.clear();
    setToken(null);
    setSession(null);
  }, [queryClient]);

  const value = useMemo(
    () => ({ api: new ApiClient(session === null ? null : token), session, signIn, signOut }),
    [token, session, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error('useSession outside SessionProvider');
  return state;
}

/** The API client of the signed-in token (anonymous when signed out). */
export function useApi(): ApiClient {
  return useSession().api;
}

function storedSession(): SessionInfo | null {
  const text = sessionStorage.getItem(SESSION_KEY);
  if (text === null || sessionStorage.getItem(TOKEN_KEY) === null) return null;
  try {
    return JSON.parse(text) as SessionInfo;
  } catch {
    return null;
  }
}
