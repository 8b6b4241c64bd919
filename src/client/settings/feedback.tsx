import React, { createContext, useContext } from 'react';
import { message } from 'antd';

type MessageApi = ReturnType<typeof message.useMessage>[0];

// antd's static message() cannot read the host's theme; the hook form can, so the page provides one instance.
const FeedbackContext = createContext<MessageApi | null>(null);

export function FeedbackProvider({ children }: { children: React.ReactNode }) {
  const [messageApi, holder] = message.useMessage();
  return (
    <FeedbackContext.Provider value={messageApi}>
      {holder}
      {children}
    </FeedbackContext.Provider>
  );
}

export function useMessage(): MessageApi {
  const api = useContext(FeedbackContext);
  return api ?? message;
}
